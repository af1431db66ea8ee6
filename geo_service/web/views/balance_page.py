"""The planner's page of a balance proposal: ``/workload/balance/<result_id>/map`` (#22).

The kept result of ``POST /api/v1/workload/balance`` (the same id as its job and as
``GET /api/v1/workload/balance/<result_id>``) drawn on the bundle's base map: proposed
precincts coloured, current borders, the blocks that move, the table before and after and the
run's parameters (the job's inputs). A result still queued or running, one that failed, and an
unknown id each answer a short page in the page's language.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import Response

from geo_service import pages
from geo_service.errors import GeoServiceError, NotFound
from geo_service.jobs.table import FINAL
from geo_service.web.context import get_city, get_store
from geo_service.web.jobs import job_queue
from geo_service.web.security import access
from geo_service.web.views.page_kit import base_tiles, bp, error_page, html_page, page_lang, static_url

__all__ = ["bp"]


@bp.get("/workload/balance/<result_id>/map")
@access("planner")
def balance_map(result_id: str) -> Response:
    """A kept balance proposal: proposed vs current precincts, moved blocks, before/after table."""
    lang = page_lang()
    try:
        kept = get_store().get_result(result_id, kind="balance")
        if kept is None:
            msg = "no balance result with this id"
            raise NotFound(msg)
        body, params = _body_and_inputs(kept)
        status = body.get("status")
        if status in ("queued", "running"):
            return _notice("balance_err_running", lang, 202, retry_after="10")
        if status in ("failed", "cancelled") or not body.get("precincts"):
            return _notice("balance_err_failed", lang, 409)
        city = get_city()
        tiles = base_tiles(city)
        roads = None if tiles else city.cached("roads_geojson", lambda: pages.roads_geojson(city.walk))
        static = static_url()
        key = (result_id, lang, static)
        rendered = city.cached("balance_pages", _RenderedPages)
        html = rendered.get(key)
        if html is None:  # a finished proposal does not change: rendered once per language (seconds)
            html = pages.balance_page(city, body, lang=lang, params=params,
                                      created_at=str(kept.get("created_at") or ""), static_url=static,
                                      roads=roads, tiles=tiles)
            rendered.put(key, html)
    except GeoServiceError as exc:
        return error_page(exc, lang, not_found="balance_err_not_found")
    return html_page(html, lang)


class _RenderedPages:
    """The last `KEEP_PAGES` rendered proposal pages of a city (its bundle: a reload drops them)."""

    KEEP_PAGES = 8

    def __init__(self) -> None:
        self._pages: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> str | None:
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
            return self._pages.get(key)

    def put(self, key: tuple[str, str, str], html: str) -> None:
        with self._lock:
            self._pages[key] = html
            while len(self._pages) > self.KEEP_PAGES:
                self._pages.popitem(last=False)


def _body_and_inputs(kept: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The result's body (re-read when its job ended since) and the job's inputs (None for a
    result kept without a job)."""
    body = kept["body"]
    jobs = job_queue().jobs
    job = jobs.get(kept["id"])
    if job is None:
        return body, None
    if body.get("status") in ("queued", "running") and job["status"] in FINAL:
        again = get_store().get_result(kept["id"], kind="balance")
        body = again["body"] if again is not None else body
    return body, jobs.inputs(kept["id"])


def _notice(key: str, lang: str, status: int, *, retry_after: str | None = None) -> Response:
    """A short page saying why there is no map (yet)."""
    resp = html_page(pages.error_page(lang=lang, message_key=key, static_url=static_url()), lang, status)
    resp.headers["Cache-Control"] = "no-store"
    if retry_after:
        resp.headers["Retry-After"] = retry_after
    return resp

"""Planner pages: the siting map, the workload map and the reform dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, request

from geo_service import pages
from geo_service.errors import GeoServiceError, NotFound
from geo_service.routes.model import PREVENTIVE_REGISTER
from geo_service.siting import map_layers
from geo_service.web.context import appeal_store, get_city, get_store
from geo_service.web.jobs import authorize_job, job_queue, siting_map_layers, start_siting_map
from geo_service.web.security import access, setting
from geo_service.web.views.page_kit import (
    API_URL,
    base_tiles,
    bp,
    error_page,
    html_page,
    last_month,
    page_lang,
    static_url,
)
from geo_service.workload import indicators as workload
from geo_service.workload.reform import city_trends, visits_on_time


# -- siting page --------------------------------------------------------------------------------
@bp.get("/siting/<result_id>/map")
@access("planner")
def siting_map(result_id: str) -> Response:
    """A kept siting result: posts, the areas they reach within T, uncovered demand, marginal gains.

    The areas (one isochrone per post) are the slow part: served at once when kept for this
    result and bundle version (`geo_service.web.jobs.siting_map_layers`: made by the siting
    job or a ``siting_map`` job); drawn in the request when posts x minutes are at most
    ``SITING_MAP_INLINE_WORK``; else a ``siting_map`` job is queued (once) and a light waiting
    page (202) polls it and turns into the map. A result whose own job is still solving gets
    the waiting page on that job."""
    lang = page_lang()
    try:
        kept = get_store().get_result(result_id, kind="siting")
        if kept is None:
            msg = "no siting result with this id"
            raise NotFound(msg)
        result = kept["body"]
        if result.get("status") in ("queued", "running"):
            job = job_queue().jobs.get(kept["id"])
            if job is not None and job["status"] in ("queued", "running"):
                authorize_job(job, action="siting.read")
                return _waiting(job, result, lang, solving=True)
        city = get_city()
        layers = siting_map_layers(kept["id"], result, city)
        if layers.state == "kept":
            areas: list[Any] = layers.areas or []
        elif map_layers.work(result) <= float(setting("SITING_MAP_INLINE_WORK")):
            areas = map_layers.service_areas(city, result)
        else:
            job = layers.job if layers.state == "pending" and layers.job else start_siting_map(kept["id"], layers)
            return _waiting(job, result, lang)
        tiles = base_tiles(city)
        roads = None if tiles else city.cached("roads_geojson", lambda: pages.roads_geojson(city.walk))
        body = pages.siting_page(city, result, areas, lang=lang, static_url=static_url(), roads=roads, tiles=tiles)
    except GeoServiceError as exc:
        return error_page(exc, lang)
    return html_page(body, lang)


def _waiting(job: dict[str, Any], result: dict[str, Any], lang: str, *, solving: bool = False) -> Response:
    minutes, _mode, sites = map_layers.params(result)
    body = pages.siting_waiting_page(lang=lang, job_url=f"{request.script_root}/api/v1/jobs/{job['id']}",
                               status=str(job["status"]), posts=len(sites), minutes=minutes,
                               static_url=static_url(), solving=solving)
    resp = html_page(body, lang, 202)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Retry-After"] = "2"
    return resp


# -- workload page ------------------------------------------------------------------------------
@bp.get("/workload/map")
@access("planner")
def workload_map() -> Response:
    """Precinct choropleth of a workload indicator, the indicator card, the table by index, the imbalance."""
    lang = page_lang()
    try:
        city = get_city()
        tiles = base_tiles(city)
        roads = None if tiles else city.cached("roads_geojson", lambda: pages.roads_geojson(city.walk))
        frame = city.cached("workload:indicators", lambda: workload.indicators(city)).copy()
        start, end = last_month()
        times = appeal_store().processing_times(start=start, end=end)
        received = dict(zip(times["precinct_id"].astype(str), times["received"].astype(int)))
        frame["appeals"] = [int(received.get(str(pid), 0)) for pid in frame["precinct_id"]]
        summary = workload.summary(frame)
        body = pages.workload_page(city, frame.to_dict("records"), summary, lang=lang,
                                   period=(start, end - timedelta(days=1)), static_url=static_url(),
                                   roads=roads, tiles=tiles)
    except GeoServiceError as exc:
        return error_page(exc, lang)
    return html_page(body, lang)


@bp.get("/workload/dashboard")
@access("planner")
def workload_dashboard() -> Response:
    """The reform's indicators: monthly trend charts (inline SVG), processing times per precinct,
    the CSV export link."""
    lang = page_lang()
    try:
        city = get_city()
        store = appeal_store()
        appeals = store.frame()
        visits = store.visit_frame()
        trends = city_trends(appeals, store.trust_scores(), visits)
        from geo_service.appeals.store import processing_times  # noqa: PLC0415 - SQLAlchemy (start-up time)

        times = processing_times(appeals)
        by_id = {str(r["precinct_id"]): r for r in times.to_dict("records")}
        on_time = visits_on_time(visits[visits["priority"] == PREVENTIVE_REGISTER])
        share = dict(zip(on_time["precinct_id"].astype(str), on_time["share_on_time"] * 100))
        rows = []
        for pid, name in zip(city.precincts["precinct_id"].astype(str), city.precincts["name"]):
            r = by_id.get(pid, {})
            rows.append({"id": pid, "name": str(name or pid), "received": r.get("received", 0),
                         "closed": r.get("closed", 0),
                         **{k: r.get(k) for k in ("first_contact_median_h", "first_contact_p90_h",
                                                   "close_median_h", "close_p90_h")},
                         "visits_on_time": share.get(pid)})
        body = pages.dashboard_page(lang=lang, city=pages.city_name(city.manifest, lang), trends=trends,
                                    rows=rows, csv_url=request.script_root + API_URL + "/workload/indicators.csv",
                                    static_url=static_url())
    except GeoServiceError as exc:
        return error_page(exc, lang)
    return html_page(body, lang)

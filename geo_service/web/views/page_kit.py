"""What every page view shares: the pages blueprint, the page's language, its static and tile
URLs, and how a page (or its refusal) is answered. The views are split by who opens them:
`map_pages` (home, precinct map, docs, tiles, service worker), `pages` (route pages and links),
`planner_pages` (siting, workload, dashboard), `public_pages` (the residents' page)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, request, url_for

from geo_service import pages
from geo_service.errors import GeoServiceError, LinkRefused
from geo_service.ingest.tiles import TILES_FILE
from geo_service.pages.i18n import choose_lang
from geo_service.web.static_assets import TileArchive
from geo_service.workload import indicators as workload

bp = Blueprint("pages", __name__)

API_URL = "/api/v1"
HTML = "text/html; charset=utf-8"


def page_lang() -> str:
    return choose_lang(request.args.get("lang"), request.headers.get("Accept-Language"))


def static_url() -> str:
    """Where the app serves its static folder (``/static`` unless mounted under a prefix)."""
    return url_for("static", filename="").rstrip("/")


def tile_archive(city: Any) -> TileArchive | None:
    """The city's base map tiles (read once per loaded bundle), or None for a bundle without them."""
    return city.cached("tiles_archive", lambda: (TileArchive.open(city.path / TILES_FILE),))[0]


def bundle_version(city: Any) -> str:
    return quote(str(city.manifest.get("bundle_version") or "0"), safe="")


def base_tiles(city: Any) -> dict[str, Any] | None:
    """What a page needs to draw the base map from the tiles (URL template, zooms, bounds)."""
    archive = tile_archive(city)
    if archive is None:
        return None
    url = f"{request.script_root}/tiles/{bundle_version(city)}/{{z}}/{{x}}/{{y}}.mvt"
    return {"url": url, "max_zoom": archive.max_zoom, "bounds": archive.bounds}


def html_page(body: str, lang: str, status: int = 200) -> Response:
    resp = Response(body, mimetype="text/html", status=status)
    resp.content_type = HTML
    resp.headers["Content-Language"] = lang
    resp.headers["Vary"] = "Accept-Language"
    resp.headers.setdefault("Cache-Control", "no-cache")  # revalidate; the service worker keeps a copy offline
    return resp


def error_page(exc: GeoServiceError, lang: str, *, not_found: str = "err_page_not_found") -> Response:
    """The refusal or failure of a page view as a page a person reads (not problem+json);
    ``not_found`` is the text key of a 404."""
    if isinstance(exc, LinkRefused):
        key = "err_link_expired" if exc.extra.get("reason") == "expired" \
            else "err_link_invalid"
    else:
        key = {403: "err_forbidden", 404: not_found}.get(exc.status, "err_server")
    hint = "err_link_renew" if key == "err_link_expired" else None
    resp = html_page(pages.error_page(lang=lang, message_key=key, static_url=static_url(), hint_key=hint), lang,
                 exc.status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def last_month() -> tuple[Any, Any]:
    """[start, end) of last calendar month (the period of the open reports)."""
    return workload.default_period()

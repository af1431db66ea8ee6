"""Pages people open in a browser: home, the precinct map, the API docs, and the offline shell.

Views only pick the language and the URLs, and hand the rendering to
`geo_service.render`. A rendered precinct page is kept with the city (one per
language): a bundle reload brings new pages.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, url_for

from ..app import get_city
from ..i18n import choose_lang
from ..lookup import Lookup
from ..render import api_docs_page, home_page, precinct_page, roads_geojson, service_worker_js
from ..security import access

bp = Blueprint("pages", __name__)

API_URL = "/api/v1"
HTML = "text/html; charset=utf-8"


def _lang() -> str:
    return choose_lang(request.args.get("lang"), request.headers.get("Accept-Language"))


def _static_url() -> str:
    """Where the app serves its static folder (``/static`` unless mounted under a prefix)."""
    return url_for("static", filename="").rstrip("/")


def _page(body: str, lang: str) -> Response:
    resp = Response(body, mimetype="text/html")
    resp.content_type = HTML
    resp.headers["Content-Language"] = lang
    resp.headers["Vary"] = "Accept-Language"
    resp.headers.setdefault("Cache-Control", "no-cache")  # revalidate; the service worker keeps a copy offline
    return resp


@bp.get("/")
@access("public")
def home() -> Response:
    """Home page: what the service does, links to the pages, language switch."""
    lang = _lang()
    city = current_app.extensions.get("geo_service")
    return _page(home_page(lang=lang, city=city.manifest if city is not None else None,
                           static_url=_static_url(), api_url=request.script_root + API_URL), lang)


@bp.get("/precincts/map")
@access("public")
def precincts_map() -> Response:
    """All precincts coloured; click one for its inspector card; search an address."""
    lang = _lang()
    city = get_city()
    static_url = _static_url()
    api_url = request.script_root + API_URL

    # Fetched before the page's factory runs: city.cached's lock is not re-entrant.
    lookup = city.cached("lookup", lambda: Lookup(city))
    roads = city.cached("roads_geojson", lambda: roads_geojson(city.walk))
    body = city.cached(f"page:precincts:{lang}:{static_url}:{api_url}", lambda: precinct_page(
        city, lookup.precincts_geojson(), lang=lang, static_url=static_url, api_url=api_url, roads=roads))
    return _page(body, lang)


@bp.get("/api/v1/docs")
@access("public")
def api_docs() -> Response:
    """Swagger UI over ``/api/v1/openapi.json`` (served from vendored files)."""
    lang = _lang()
    spec = request.script_root + API_URL + "/openapi.json"
    return _page(api_docs_page(lang=lang, spec_url=spec, static_url=_static_url()), lang)


@bp.get("/favicon.ico")
@access("public")
def favicon() -> Response:
    """No icon (204): browsers ask for one by themselves; a 404 would be a console error."""
    resp = Response(status=204)
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp


@bp.get("/sw.js")
@access("public")
def service_worker() -> Response:
    """The service worker: keeps the app shell and opened pages for offline use (scope ``/``)."""
    resp = Response(service_worker_js(static_url=_static_url()), mimetype="text/javascript")
    resp.headers["Service-Worker-Allowed"] = "/"
    resp.headers["Cache-Control"] = "no-cache"  # browsers must see a new version at once
    return resp

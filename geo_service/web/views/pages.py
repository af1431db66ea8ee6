"""Pages people open in a browser: home, the precinct map, the route and siting maps,
the API docs, and the offline shell.

Views only pick the language and the URLs, call the core, and hand the rendering to
`geo_service.pages` (folium loads with the first page, not at server start-up). A rendered
precinct page is kept with the city (one per language): a bundle reload brings new pages.

The planner's workload map is ``/workload/map`` and the reform dashboard
``/workload/dashboard``; the residents' page of a precinct
(open reporting, no personal data) is ``/p/<precinct_id>``.

Route pages: ``/routes/<plan_id>/map`` for a caller with credentials (the plan's
inspector or a planner; authorised and audited by `load_plan`), and ``/r/<token>``
for a short-lived signed link (nothing personal in it) made by
``POST /api/v1/routes/plans/<plan_id>/link``, which a phone opens without credentials.
A refused or unknown page is told on a readable page in the user's language.
"""

from __future__ import annotations

import gzip
import math
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from geo_service import clock, pages
from geo_service.errors import GeoServiceError, InputError, LinkRefused, NotFound
from geo_service.ingest.tiles import TILES_FILE
from geo_service.lookup.service import Lookup
from geo_service.network.reach import isochrone
from geo_service.pages.i18n import choose_lang
from geo_service.routes.model import PREVENTIVE_REGISTER
from geo_service.web.context import appeal_store, get_city, get_store
from geo_service.web.openapi_parts import problems
from geo_service.web.security import access, audit, load_plan, load_plan_by_link, make_link
from geo_service.web.static_assets import IMMUTABLE, STATIC_EXT, TileArchive, accepts
from geo_service.web.validation import parse_json_body
from geo_service.workload import indicators as workload
from geo_service.workload.reform import city_trends, visits_on_time

if TYPE_CHECKING:
    from geo_service.store import Plan

bp = Blueprint("pages", __name__)

API_URL = "/api/v1"
HTML = "text/html; charset=utf-8"


def _lang() -> str:
    return choose_lang(request.args.get("lang"), request.headers.get("Accept-Language"))


def _static_url() -> str:
    """Where the app serves its static folder (``/static`` unless mounted under a prefix)."""
    return url_for("static", filename="").rstrip("/")


def _archive(city: Any) -> TileArchive | None:
    """The city's base map tiles (read once per loaded bundle), or None for a bundle without them."""
    return city.cached("tiles_archive", lambda: (TileArchive.open(city.path / TILES_FILE),))[0]


def _version(city: Any) -> str:
    return quote(str(city.manifest.get("bundle_version") or "0"), safe="")


def _tiles(city: Any) -> dict[str, Any] | None:
    """What a page needs to draw the base map from the tiles (URL template, zooms, bounds)."""
    archive = _archive(city)
    if archive is None:
        return None
    url = f"{request.script_root}/tiles/{_version(city)}/{{z}}/{{x}}/{{y}}.mvt"
    return {"url": url, "max_zoom": archive.max_zoom, "bounds": archive.bounds}


def _page(body: str, lang: str, status: int = 200) -> Response:
    resp = Response(body, mimetype="text/html", status=status)
    resp.content_type = HTML
    resp.headers["Content-Language"] = lang
    resp.headers["Vary"] = "Accept-Language"
    resp.headers.setdefault("Cache-Control", "no-cache")  # revalidate; the service worker keeps a copy offline
    return resp


def _error_page(exc: GeoServiceError, lang: str, *, not_found: str = "err_page_not_found") -> Response:
    """The refusal or failure of a page view as a page a person reads (not problem+json);
    ``not_found`` is the text key of a 404."""
    if isinstance(exc, LinkRefused):
        key = "err_link_expired" if exc.extra.get("reason") == "expired" \
            else "err_link_invalid"
    else:
        key = {403: "err_forbidden", 404: not_found}.get(exc.status, "err_server")
    hint = "err_link_renew" if key == "err_link_expired" else None
    resp = _page(pages.error_page(lang=lang, message_key=key, static_url=_static_url(), hint_key=hint), lang,
                 exc.status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/")
@access("public")
def home() -> Response:
    """Home page: what the service does, links to the pages, language switch."""
    lang = _lang()
    city = current_app.extensions.get("geo_service")
    return _page(pages.home_page(lang=lang, city=city.manifest if city is not None else None,
                                 static_url=_static_url(), api_url=request.script_root + API_URL), lang)


@bp.get("/precincts/map")
@access("public")
def precincts_map() -> Response:
    """All precincts coloured; click one for its inspector card; search an address."""
    lang = _lang()
    city = get_city()
    static_url = _static_url()
    api_url = request.script_root + API_URL

    lookup = city.cached("lookup", lambda: Lookup(city))
    public_url = request.script_root + "/p/"
    tiles = _tiles(city)
    body = city.cached(f"page:precincts:{lang}:{static_url}:{api_url}", lambda: pages.precinct_page(
        city, lookup.precincts_geojson(), lang=lang, static_url=static_url, api_url=api_url,
        roads=None if tiles else city.cached("roads_geojson", lambda: pages.roads_geojson(city.walk)),
        public_url=public_url, tiles=tiles))
    return _page(body, lang)


@bp.get("/api/v1/docs")
@access("public")
def api_docs() -> Response:
    """Swagger UI over ``/api/v1/openapi.json`` (served from vendored files)."""
    lang = _lang()
    spec = request.script_root + API_URL + "/openapi.json"
    return _page(pages.api_docs_page(lang=lang, spec_url=spec, static_url=_static_url()), lang)


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
    hashed = current_app.extensions[STATIC_EXT]
    resp = Response(pages.service_worker_js(static_url=_static_url(), url_of=hashed.url), mimetype="text/javascript")
    resp.headers["Service-Worker-Allowed"] = "/"
    resp.headers["Cache-Control"] = "no-cache"  # browsers must see a new version at once
    return resp


@bp.get("/tiles/<version>/<int:z>/<int:x>/<int:y>.mvt")
@access("public")
def tiles(version: str, z: int, x: int, y: int) -> Response:
    """A base map tile (Mapbox Vector Tile; 204 where the city has no data).

    The bundle's version is in the URL, so a tile is cached for a year; a page of an older
    bundle gets the current tile, revalidated.
    """
    city = get_city()
    archive = _archive(city)
    if archive is None:
        msg = "this bundle has no base map tiles; fix: rebuild it with geo-service build"
        raise NotFound(msg)
    data = archive.tile(z, x, y)
    resp = Response(status=204 if data is None else 200, mimetype="application/vnd.mapbox-vector-tile")
    resp.headers["Cache-Control"] = IMMUTABLE if quote(version, safe="") == _version(city) else "no-cache"
    resp.headers["Vary"] = "Accept-Encoding"
    resp.headers["Access-Control-Allow-Origin"] = "*"  # public data, for other map clients too
    if data is not None:
        if accepts("gzip"):
            resp.headers["Content-Encoding"] = "gzip"
        else:
            data = gzip.decompress(data)
        resp.set_data(data)
    return resp


# -- route pages ------------------------------------------------------------------------------
#: The shape of a link token (``<link id>.<secret>``); anything else names no plan.
_TOKEN = re.compile(r"^\.?[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{10,100}$")


def _by_link(token: str) -> Plan:
    if not _TOKEN.match(token):
        msg = "no such link"
        raise NotFound(msg)
    return load_plan_by_link(token)


def _route_page(kept: Plan, *, lang: str, gpx_url: str, sheet_url: str, done_url: str | None = None) -> Response:
    city = get_city()
    lookup = city.cached("lookup", lambda: Lookup(city))
    tiles = _tiles(city)
    index = None if tiles else city.cached("roads_index", lambda: pages.RoadIndex(
        city.cached("roads_geojson", lambda: pages.roads_geojson(city.walk))))
    precinct = post = None
    try:
        i = lookup.index_of(kept.precinct_id)
    except NotFound:
        i = None  # the bundle no longer has the precinct: the route is still shown
    if i is not None:
        precinct = lookup.precinct_feature(i)
        post = lookup.precinct_info(i)["post"]
    if not (kept.body.get("due") and kept.inspector_id):
        done_url = None  # a plan kept before visits were recorded, or without an inspector
    made = None
    if done_url is not None and kept.inspector_id:
        done = appeal_store().done_in_plan(inspector_id=kept.inspector_id, due=kept.body.get("due") or {},
                                           plan_id=kept.id)
        made = {str(n): (when.strftime("%H:%M") if when.date().isoformat() == kept.body.get("date") else
                         when.strftime("%Y-%m-%d %H:%M"))
                for n, vid in enumerate(_visit_ids(kept), start=1) if (when := done.get(vid)) is not None}
    body = pages.route_page(city, kept.body["plan"], lang=lang, date=str(kept.body.get("date") or ""),
                            gpx_url=gpx_url, sheet_url=sheet_url, precinct=precinct, post=post,
                            static_url=_static_url(), road_index=index,
                            done_url=done_url, made=made, tiles=tiles)
    return _page(body, lang)


@bp.get("/routes/<plan_id>/map")
@access("inspector")
def route_map(plan_id: str) -> Response:
    """A kept plan on a map for the inspector's phone (its inspector and planners; audited)."""
    lang = _lang()
    try:
        kept = load_plan(plan_id, action="plan.page")
        base = f"{request.script_root}{API_URL}/routes/plans/{kept.id}"
        return _route_page(kept, lang=lang, gpx_url=f"{base}/gpx", sheet_url=f"{base}/sheet")
    except GeoServiceError as exc:
        return _error_page(exc, lang)


@bp.get("/r/<token>")
@access("public")
def route_by_link(token: str) -> Response:
    """The route page through a short-lived signed link (no credentials; audited)."""
    lang = _lang()
    try:
        kept = _by_link(token)
        base = f"{request.script_root}/r/{token}"
        return _route_page(kept, lang=lang, gpx_url=f"{base}/gpx", sheet_url=f"{base}/sheet",
                           done_url=f"{base}/stops/")
    except GeoServiceError as exc:
        return _error_page(exc, lang)


def _visit_ids(kept: Plan) -> list[str]:
    """The plan's visit ids in stop order (stop n is item n - 1)."""
    return [str(s.get("visit_id") or "") for s in kept.body["plan"].get("stops") or [] if s.get("kind") == "visit"]


@bp.post("/r/<token>/stops/<int:n>/done")
@access("public")
def visit_done_by_link(token: str, n: int) -> Response:
    """The route page's "made" button: mark stop ``n`` of the linked plan as made now, then
    back to the page. The link is the inspector's; the form names the stop's number, so the
    caller's visit ids stay out of the page and its URLs."""
    return _mark_by_link(token, n, made=True)


@bp.post("/r/<token>/stops/<int:n>/undo")
@access("public")
def visit_undone_by_link(token: str, n: int) -> Response:
    """The route page's "undo" button: take back the made mark of stop ``n``."""
    return _mark_by_link(token, n, made=False)


def _form_time(name: str) -> datetime | None:
    """An optional ISO 8601 time with a zone from the form (the phone's worker sends the time
    a mark was made offline)."""
    raw = request.form.get(name)
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        msg = f"{name} is not an ISO 8601 date-time"
        raise InputError(msg) from None
    if when.tzinfo is None:
        msg = f"{name} needs a time zone"
        raise InputError(msg)
    return clock.check_moment(when, name)


def _mark_by_link(token: str, n: int, *, made: bool) -> Response:
    lang = _lang()
    try:
        kept = _by_link(token)
        ids = _visit_ids(kept)
        due = kept.body.get("due") or {}
        if not (1 <= n <= len(ids)) or ids[n - 1] not in due or not kept.inspector_id:
            msg = "the plan has no such stop"
            raise NotFound(msg)
        if made:
            appeal_store().mark_done(inspector_id=kept.inspector_id, visit_ref=ids[n - 1], due_date=due[ids[n - 1]],
                                     done_at=_form_time("done_at"), plan_date=kept.body.get("date"),
                                     plan_created_at=kept.created_at, plan_id=kept.id)
        else:
            appeal_store().unmark_done(inspector_id=kept.inspector_id, visit_ref=ids[n - 1], due_date=due[ids[n - 1]],
                                       plan_id=kept.id)
        audit("visit.done" if made else "visit.undone", record_type="plan", record_id=kept.id, outcome="ok:link")
    except GeoServiceError as exc:
        return _error_page(exc, lang)
    resp = Response(status=303)
    resp.headers["Location"] = f"{request.script_root}/r/{token}?lang={lang}#gs-stop-{n}"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/r/<token>/gpx")
@access("public")
def route_gpx_by_link(token: str) -> Response:
    """The linked plan as GPX."""
    try:
        kept = _by_link(token)
    except GeoServiceError as exc:
        return _error_page(exc, _lang())
    resp = Response(kept.body["gpx"], mimetype="application/gpx+xml")
    resp.headers["Content-Disposition"] = f'attachment; filename="route-{kept.body["date"]}.gpx"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/r/<token>/sheet")
@access("public")
def route_sheet_by_link(token: str) -> Response:
    """The linked plan's printable sheet."""
    try:
        kept = _by_link(token)
    except GeoServiceError as exc:
        return _error_page(exc, _lang())
    lang = _lang()
    body = pages.sheet_html(kept.body["plan"], lang=lang, date=kept.body.get("date"),
                            inspector=str(kept.inspector_id or ""))
    resp = _page(body, lang)  # in the page's language (?lang), addresses where the visits have them
    return resp


@bp.post("/api/v1/routes/plans/<plan_id>/link")
@access("inspector")
def route_link(plan_id: str) -> Response:
    """A short-lived signed link to the plan's page (``expires_in`` seconds, optional body)."""
    kept = load_plan(plan_id, action="plan.link")
    ttl: Any = None
    if request.get_data(cache=True).strip():
        doc = parse_json_body()
        if set(doc) - {"expires_in"}:
            msg = "the body may hold only expires_in"
            raise InputError(msg)
        ttl = doc.get("expires_in")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float))):
            msg = "expires_in must be a number of seconds"
            raise InputError(msg)
    link_id, token, expires = make_link(kept, None if ttl is None else float(ttl))
    lifetime = round((expires - clock.now()).total_seconds())  # what make_link chose: the shift and a grace
    resp = jsonify({"id": link_id, "url": f"{request.script_root}/r/{token}", "expires_in": int(lifetime)})
    resp.status_code = 201
    return resp


# -- siting page --------------------------------------------------------------------------------
@bp.get("/siting/<result_id>/map")
@access("planner")
def siting_map(result_id: str) -> Response:
    """A kept siting result: posts, the areas they reach within T, uncovered demand, marginal gains."""
    lang = _lang()
    try:
        kept = get_store().get_result(result_id, kind="siting")
        if kept is None:
            msg = "no siting result with this id"
            raise NotFound(msg)
        result = kept["body"]
        city = get_city()
        tiles = _tiles(city)
        roads = None if tiles else city.cached("roads_geojson", lambda: pages.roads_geojson(city.walk))
        request_ = result.get("request") or {}
        minutes = float(request_.get("minutes") or float(result.get("service_time") or 0) / 60)
        graph = city.graph(str(request_.get("mode") or result.get("mode") or "walk"))
        sites = [*(result.get("existing") or []), *(result.get("chosen") or [])]
        areas = [isochrone(graph, float(s["lat"]), float(s["lon"]), minutes) if s.get("lat") is not None else None
                 for s in sites] if minutes > 0 else []
        body = pages.siting_page(city, result, areas, lang=lang, static_url=_static_url(), roads=roads, tiles=tiles)
    except GeoServiceError as exc:
        return _error_page(exc, lang)
    return _page(body, lang)


# -- workload page ------------------------------------------------------------------------------
def _last_month() -> tuple[Any, Any]:
    """[start, end) of last calendar month (the period of the open reports)."""
    return workload.default_period()


@bp.get("/workload/map")
@access("planner")
def workload_map() -> Response:
    """Precinct choropleth of a workload indicator, the indicator card, the table by index, the imbalance."""
    lang = _lang()
    try:
        city = get_city()
        tiles = _tiles(city)
        roads = None if tiles else city.cached("roads_geojson", lambda: pages.roads_geojson(city.walk))
        frame = city.cached("workload:indicators", lambda: workload.indicators(city)).copy()
        start, end = _last_month()
        times = appeal_store().processing_times(start=start, end=end)
        received = dict(zip(times["precinct_id"].astype(str), times["received"].astype(int)))
        frame["appeals"] = [int(received.get(str(pid), 0)) for pid in frame["precinct_id"]]
        summary = workload.summary(frame)
        body = pages.workload_page(city, frame.to_dict("records"), summary, lang=lang,
                                   period=(start, end - timedelta(days=1)), static_url=_static_url(),
                                   roads=roads, tiles=tiles)
    except GeoServiceError as exc:
        return _error_page(exc, lang)
    return _page(body, lang)


@bp.get("/workload/dashboard")
@access("planner")
def workload_dashboard() -> Response:
    """The reform's indicators: monthly trend charts (inline SVG), processing times per precinct,
    the CSV export link."""
    lang = _lang()
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
                                    static_url=_static_url())
    except GeoServiceError as exc:
        return _error_page(exc, lang)
    return _page(body, lang)


# -- public precinct page -------------------------------------------------------------------------
#: The shape of a precinct id in a URL (anything else names no precinct).
_PRECINCT_ID = re.compile(r"^[\w.\-]{1,80}$")


@bp.get("/p/<precinct_id>")
@access("public")
def public_precinct(precinct_id: str) -> Response:
    """The residents' page of a precinct: inspector, post, reception hours, last month's figures."""
    lang = _lang()
    try:
        if not _PRECINCT_ID.match(precinct_id):
            msg = "no such precinct"
            raise NotFound(msg)
        city = get_city()
        lookup = city.cached("lookup", lambda: Lookup(city))
        i = lookup.index_of(precinct_id)
        pid = str(lookup.ids[i])
        tiles = _tiles(city)
        index = None if tiles else city.cached("roads_index", lambda: pages.RoadIndex(
            city.cached("roads_geojson", lambda: pages.roads_geojson(city.walk))))
        start, end = _last_month()
        store = appeal_store()
        appeals = store.frame(start=start, end=end, precinct_id=pid)
        from geo_service.appeals.store import processing_times  # noqa: PLC0415 - SQLAlchemy (start-up time)

        times = processing_times(appeals)
        row = times.iloc[0] if len(times) else None
        median = float(row["first_contact_median_h"]) if row is not None else None
        figures = {"received": int(row["received"]) if row is not None else 0,
                   "closed": int(row["closed"]) if row is not None else 0,
                   "first_contact_median_h": median if median is not None and not math.isnan(median) else None,
                   "visits": store.visits_made(start=start, end=end, precinct_id=pid)}
        body = pages.public_precinct_page(city, lookup.precinct_info(i), lookup.precinct_feature(i), figures,
                                          lang=lang, period=(start, end - timedelta(days=1)),
                                          generated=clock.today().isoformat(), static_url=_static_url(),
                                          road_index=index, tiles=tiles)
    except GeoServiceError as exc:
        return _error_page(exc, lang, not_found="err_precinct_not_found")
    return _page(body, lang)


def openapi_paths() -> dict[str, Any]:
    """The JSON paths of this blueprint for the OpenAPI document (the pages are HTML)."""
    errors = problems(400, 401, 403, 404, 429)
    return {"/api/v1/routes/plans/{plan_id}/link": {"post": {
        "summary": "a short-lived link to the plan's route page (for the inspector's phone; revocable)",
        "security": [{"bearer": []}, {"apiKey": []}],
        "parameters": [{"name": "plan_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False,
            "properties": {"expires_in": {"type": "number", "exclusiveMinimum": 0,
                                          "description": "seconds (default: shift end + grace)"}}}}}},
        "responses": {"201": {"description": "the link", "content": {"application/json": {"schema": {
            "type": "object", "required": ["id", "url", "expires_in"],
            "properties": {"id": {"type": "string", "description": "the link's id (to revoke it)"},
                           "url": {"type": "string"}, "expires_in": {"type": "integer"}}}}}}, **errors}}}}

"""Route pages: ``/routes/<plan_id>/map`` for a caller with credentials (the plan's
inspector or a planner; authorised and audited by `load_plan`), and ``/r/<token>``
for a short-lived signed link (nothing personal in it) made by
``POST /api/v1/routes/plans/<plan_id>/link``, which a phone opens without credentials.
A refused or unknown page is told on a readable page in the user's language.

Views only pick the language and the URLs, call the core, and hand the rendering to
`geo_service.pages` (folium loads with the first page, not at server start-up). The other
pages of the same blueprint (`page_kit.bp`) are in `map_pages`, `planner_pages` and
`public_pages`; the precinct page is kept with the city (one per language).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Response, g, jsonify, request

from geo_service import clock, pages
from geo_service.errors import GeoServiceError, InputError, LinkRefused, NotFound
from geo_service.lookup.service import Lookup
from geo_service.web import sessions
from geo_service.web.context import appeal_store, get_city, get_store
from geo_service.web.openapi_parts import problems
from geo_service.web.security import access, audit, current_principal, load_plan, load_plan_by_link, make_link
from geo_service.web.validation import parse_json_body
from geo_service.web.views.page_kit import API_URL, base_tiles, bp, error_page, html_page, page_lang, static_url

if TYPE_CHECKING:
    from geo_service.store import Plan


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
    tiles = base_tiles(city)
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
                            static_url=static_url(), road_index=index,
                            done_url=done_url, made=made, tiles=tiles)
    return html_page(body, lang)


@bp.get("/routes/<plan_id>/map")
@access("inspector")
def route_map(plan_id: str) -> Response:
    """A kept plan on a map for the inspector's phone (its inspector and planners; audited)."""
    lang = page_lang()
    try:
        kept = load_plan(plan_id, action="plan.page")
        base = f"{request.script_root}{API_URL}/routes/plans/{kept.id}"
        return _route_page(kept, lang=lang, gpx_url=f"{base}/gpx", sheet_url=f"{base}/sheet")
    except GeoServiceError as exc:
        return error_page(exc, lang)


@bp.get("/r/<token>")
@access("public")
def route_by_link(token: str) -> Response:
    """The route page through a short-lived signed link (no credentials; audited)."""
    lang = page_lang()
    try:
        kept = _by_link(token)
        base = f"{request.script_root}/r/{token}"
        return _route_page(kept, lang=lang, gpx_url=f"{base}/gpx", sheet_url=f"{base}/sheet",
                           done_url=f"{base}/stops/")
    except LinkRefused as exc:
        if exc.extra.get("reason") != "expired":
            return error_page(exc, lang)
        return _expired_page(token, lang)
    except GeoServiceError as exc:
        return error_page(exc, lang)


def _expired_page(token: str, lang: str) -> Response:
    """The expired link's page with its "Get a new link" form (the session's CSRF token in it
    when signed in; without a session the form leads to the sign-in page)."""
    sess = sessions.request_session(get_store()) if request.cookies.get(sessions.COOKIE) else None
    renew = {"url": f"{request.script_root}/r/{token}/renew?lang={lang}", "csrf": sess.csrf if sess else "",
             "signed_in": sess is not None}
    body = pages.error_page(lang=lang, message_key="err_link_expired", static_url=static_url(), renew=renew,
                            hint_key=None if sess else "err_link_renew")
    resp = html_page(body, lang, 403)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/r/<token>/renew")
@access("public")
def renew_link(token: str) -> Response:
    """A new link for an expired one, for a signed-in principal who may read its plan (its
    inspector, a planner, an admin: `load_plan`), then 303 to it; without a session, 303 to
    the sign-in page and back. An unknown or revoked link is not renewed; a live one needs
    no renewal (303 back to it). Audited as ``link.renew`` with the link ids, never the token."""
    lang = page_lang()
    here = f"{request.script_root}/r/{token}?lang={lang}"
    plan_id, why = get_store().open_link(token) if _TOKEN.match(token) else (None, "unknown")
    link_id = token.split(".", 1)[0][:40]
    if plan_id is not None:
        return _see_other(here)
    if why != "expired":
        audit("link.renew", record_type="link", record_id=link_id, outcome=f"denied:{why}")
        return html_page(pages.error_page(lang=lang, message_key="renew_err_dead", static_url=static_url()),
                         lang, 404 if why == "unknown" else 403)
    if g.get("_gs_csrf_failed"):
        # The cookie came without its CSRF token (a page opened cross-site, where a SameSite=Strict
        # cookie is not sent, has none in its form): back to the page, which now has it. Nothing changed.
        return _see_other(here)
    if current_principal().kind == "anonymous":
        return sessions.sign_in_redirect(f"{request.script_root}/r/{token}?lang={lang}")
    try:
        old = get_store().get_link(link_id)
        if old is None:
            raise NotFound("no such link")
        kept = load_plan(old["plan_id"], action="plan.link")  # audited as a link asked for
        new_id, new_token, _ = make_link(kept)
    except GeoServiceError as exc:
        audit("link.renew", record_type="link", record_id=link_id, outcome=f"denied:{exc.status}")
        return error_page(exc, lang)
    audit("link.renew", record_type="link", record_id=f"{link_id}>{new_id}", outcome="ok")
    return _see_other(f"{request.script_root}/r/{new_token}?lang={lang}")


def _see_other(url: str) -> Response:
    resp = Response(status=303)
    resp.headers["Location"] = url
    resp.headers["Cache-Control"] = "no-store"
    return resp


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
    lang = page_lang()
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
        return error_page(exc, lang)
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
        return error_page(exc, page_lang())
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
        return error_page(exc, page_lang())
    lang = page_lang()
    body = pages.sheet_html(kept.body["plan"], lang=lang, date=kept.body.get("date"),
                            inspector=str(kept.inspector_id or ""))
    resp = html_page(body, lang)  # in the page's language (?lang), addresses where the visits have them
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

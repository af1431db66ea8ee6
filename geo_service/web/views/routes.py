"""Daily visit routes and multi-day schedules for inspectors; plans are kept for the phone.

Visits may concern victims and people on the preventive register: plans are kept in
the store, readable only by their inspector (own precinct) and planners, every read is
audited, and nothing personal goes into URLs or logs (labels are the caller's free text).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo_service import clock
from geo_service.errors import Forbidden, InputError, NotFound
from geo_service.jobs.kinds import keep_plan, plan_urls, shift_inputs, visit_inputs
from geo_service.pages.i18n import choose_lang
from geo_service.pages.sheet import sheet_html
from geo_service.routes.day import plan_day
from geo_service.routes.model import (
    APPEAL,
    MAX_VISITS,
    PRIORITY_CLASSES,
    PRIORITY_NAMES,
    RECEPTION,
    PriorityClass,
    PriorityName,
    Shift,
    Visit,
    minutes_of,
)
from geo_service.routes.patrol import patrol_fill
from geo_service.web.context import appeal_store, get_city, get_store, lookup_service
from geo_service.web.jobs import finished, start_job
from geo_service.web.openapi_parts import problems
from geo_service.web.security import (
    access,
    audit,
    current_principal,
    load_plan,
    require_precinct,
    revoke_link,
)
from geo_service.web.validation import Day, LatLon, Moment, parse_json_body, reject_unknown_args, validate_body

bp = Blueprint("routes", __name__, url_prefix="/api/v1/routes")

HHMM = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")]


class VisitIn(BaseModel):
    """One visit: coordinates or an address, minutes on site, priority class, windows."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64, pattern=r"^[\w.:-]+$")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, min_length=1, max_length=200)
    minutes: float = Field(default=15, gt=0, le=480, description="minutes on site")
    priority: Literal[PriorityClass, PriorityName] = Field(
        default=APPEAL, description=" > ".join(f"{k} {name}" for k, name in PRIORITY_CLASSES.items()))
    windows: list[tuple[HHMM, HHMM]] = Field(default_factory=list, max_length=8,
                                             description="times within which the visit must start")
    label: str = Field(default="", max_length=200, description="free text shown to the inspector; never logged")
    due: Day | None = Field(default=None, description=(
        "the date by which the visit is due (e.g. a preventive-register visit); default the plan's date. "
        "A kept plan records its visits as due; marking one done counts toward visits made on time"))

    @model_validator(mode="after")
    def _where(self) -> VisitIn:
        if (self.address is None) == (self.lat is None or self.lon is None):
            msg = "give lat and lon, or address"
            raise ValueError(msg)
        return self


class ShiftIn(BaseModel):
    """Working hours, breaks, and the reception at the post (17:00-20:00 when true)."""

    model_config = ConfigDict(extra="forbid")
    start: HHMM = "09:00"
    end: HHMM = "18:00"
    breaks: list[tuple[HHMM, HHMM]] = Field(default_factory=lambda: [("13:00", "14:00")], max_length=4)
    reception: bool | tuple[HHMM, HHMM] = False

    def to_shift(self) -> Shift:
        reception = None
        if self.reception is True:
            reception = RECEPTION
        elif self.reception:
            a, b = self.reception
            reception = (minutes_of(a), minutes_of(b))
        end = minutes_of(self.end)
        if reception is not None:
            end = max(end, reception[1])  # the reception is part of the working day
        return Shift(start_min=minutes_of(self.start), end_min=end,
                     breaks=[(minutes_of(a), minutes_of(b)) for a, b in self.breaks], reception=reception)


class PlanBody(BaseModel):
    """One inspector's day."""

    model_config = ConfigDict(extra="forbid")
    inspector_id: str = Field(min_length=1, max_length=64)
    date: Day | None = Field(default=None, description="default: today")
    shift: ShiftIn = Field(default_factory=ShiftIn)
    mode: Literal["walk", "drive", "drive_walk"] = "walk"
    start: LatLon | None = Field(default=None, description="default: the precinct post")
    end: LatLon | None = Field(default=None, description="default: the start")
    visits: list[VisitIn] = Field(max_length=MAX_VISITS)
    outside_precinct: Literal["warn", "reject"] = "warn"
    include_appeals: bool = Field(default=True, description="add the inspector's open citizens' appeals as visits")
    patrol_fill: bool = Field(default=False, description="fill the spare time at the post with a patrol loop")
    hotspots: list[LatLon] = Field(default_factory=list, max_length=50,
                                   description="points the patrol loop should favour")
    save: bool = True


class RecurringIn(BaseModel):
    """A visit that recurs over the period."""

    model_config = ConfigDict(extra="forbid")
    visit: VisitIn
    every_days: int | None = Field(default=None, ge=1, le=92)
    per_month: int | None = Field(default=None, ge=1, le=30)
    due: Day | None = None
    min_gap_days: int = Field(default=1, ge=0, le=92)


class ScheduleBody(BaseModel):
    """One inspector's period (a week, a month)."""

    model_config = ConfigDict(extra="forbid")
    inspector_id: str = Field(min_length=1, max_length=64)
    start_date: Day
    days: int = Field(ge=1, le=92)
    shift: ShiftIn = Field(default_factory=ShiftIn)
    reception_weekdays: list[Annotated[int, Field(ge=0, le=6)]] | None = Field(
        default=None, description="weekdays with the reception (0 = Monday); default every working day")
    days_off: list[Day] = Field(default_factory=list, max_length=92)
    mode: Literal["walk", "drive", "drive_walk"] = "walk"
    visits: list[RecurringIn] = Field(max_length=2000)
    save: bool = Field(default=True, description=(
        "keep every day with visits as a plan (its id and links in the day), its visits recorded as due "
        "on their occurrence's due date"))
    wait: bool = Field(default=True, description=(
        "wait up to 9 s for the schedule (200), else answer at once with its job's Location (202; "
        "GET /api/v1/jobs/<id>: 202 while queued or running, 200 once done, failed or cancelled)"))


#: How long ``POST /routes/schedule`` with ``wait: true`` waits for its queued job (seconds); the
#: schedule's own budget is 8 s, so a schedule answers in the request unless the workers are busy.
SCHEDULE_WAIT_S = 9.0


def _inspector(inspector_id: str) -> tuple[str, tuple[float, float] | None]:
    """The inspector's precinct (access checked) and post location."""
    city = get_city()
    rows = city.roster[city.roster.inspector_id == inspector_id]
    if len(rows) == 0:
        msg = f"no inspector with id {inspector_id!r} in the roster"
        raise NotFound(msg)
    precinct_id = str(rows.precinct_id.iloc[0])
    principal = require_precinct(precinct_id)
    if principal.role == "inspector" and principal.id != inspector_id:
        audit("access", record_type="inspector", record_id=inspector_id[:64], outcome="denied:inspector")
        msg = "an inspector plans only their own routes"
        raise Forbidden(msg)
    service = lookup_service()
    post = service.precinct_info(service.index_of(precinct_id))["post"]
    return precinct_id, ((post["lat"], post["lon"]) if post else None)


def _visit(v: VisitIn, *, precinct_id: str, policy: str, warnings: list[str]) -> Visit:
    service = lookup_service()
    if v.address is not None:
        try:
            answer = service.by_address(v.address, limit=3, travel=False)
        except NotFound:
            msg = f"visit {v.id}: the address is not found"
            raise InputError(msg) from None
        if answer["ambiguous"]:
            options = "; ".join(f"{c['street']} {c['housenumber'] or ''}".strip() for c in answer["candidates"][:3])
            msg = f"visit {v.id}: the address is ambiguous ({options}); give lat and lon"
            raise InputError(msg)
        lat, lon = answer["candidates"][0]["lat"], answer["candidates"][0]["lon"]
    else:
        lat, lon = float(v.lat), float(v.lon)  # type: ignore[arg-type]
    found = service.locate(lat, lon)
    if found is None or service.ids[found.index] != precinct_id:
        if policy == "reject":
            msg = f"visit {v.id} is outside precinct {precinct_id}"
            raise InputError(msg)
        warnings.append(f"visit {v.id} is outside precinct {precinct_id}")
    priority = PRIORITY_NAMES.get(v.priority, v.priority) if isinstance(v.priority, str) else v.priority
    return Visit(id=v.id, lat=lat, lon=lon, service_min=v.minutes, priority=int(priority),
                 time_windows=[(minutes_of(a), minutes_of(b)) for a, b in v.windows], label=v.label,
                 address=(v.address or "").strip())


def _open_appeals(inspector_id: str, *, taken: set[str]) -> list[Visit]:
    """The inspector's open appeals as visits (priority class 3, 20 minutes on site)."""
    out = []
    for appeal in appeal_store().open_for_inspector(inspector_id):
        v = appeal.as_visit(priority=APPEAL)
        if v["id"] not in taken:
            out.append(Visit(id=v["id"], lat=v["lat"], lon=v["lon"], service_min=v["service_min"],
                             priority=v["priority"], label=v["label"]))
    return out


def _start(body_start: Any, post: tuple[float, float] | None) -> tuple[float, float]:
    if body_start is not None:
        return (float(body_start[0]), float(body_start[1]))
    if post is None:
        msg = "the precinct has no post: give start as [lat, lon]"
        raise InputError(msg)
    return post


@bp.post("/plan")
@access("inspector")
def plan() -> Response:
    """Plan one day's route; kept (unless ``save`` is false) for the inspector's phone."""
    body = validate_body(PlanBody, parse_json_body())
    precinct_id, post = _inspector(body.inspector_id)
    warnings: list[str] = []
    visits = [_visit(v, precinct_id=precinct_id, policy=body.outside_precinct, warnings=warnings)
              for v in body.visits]
    if body.include_appeals:
        visits += _open_appeals(body.inspector_id, taken={v.id for v in visits})
    start = _start(body.start, post)
    end = (float(body.end[0]), float(body.end[1])) if body.end is not None else start
    day = plan_day(get_city(), start=start, end=end, visits=visits, shift=body.shift.to_shift(), mode=body.mode,
                   post=post or start)
    date = (body.date or clock.today()).isoformat()
    result = {"inspector_id": body.inspector_id, "precinct_id": precinct_id, "date": date,
              "plan": day.to_dict(), "warnings": warnings + list(day.warnings)}
    if body.patrol_fill:
        service = lookup_service()
        result["patrol"] = patrol_fill(get_city(), day, post=post or start,
                                       precinct_geometry=service.geoms[service.index_of(precinct_id)],
                                       hotspots=[(float(a), float(b)) for a, b in body.hotspots],
                                       mode="drive" if body.mode == "drive" else "walk")
    if not body.save:
        return jsonify(result)
    given_due = {v.id: v.due.isoformat() for v in body.visits if v.due is not None}
    plan_id = _keep(day, result, given_due)
    resp = jsonify({"id": plan_id, **result, "links": _links(plan_id)})
    resp.status_code = 201
    resp.headers["Location"] = f"/api/v1/routes/plans/{plan_id}"
    return resp


def _keep(day: Any, result: dict[str, Any], given_due: dict[str, str]) -> str:
    """Keep a day plan (`geo_service.jobs.kinds.keep_plan`: GPX, sheet, due visits, audit); the plan id."""
    return keep_plan(get_store(), appeal_store(), day, result, given_due, created_by=current_principal().label)


class DoneBody(BaseModel):
    """When the visit was made (default now)."""

    model_config = ConfigDict(extra="forbid")
    done_at: Moment | None = Field(default=None, description=(
        "ISO 8601 with a time zone; default now. Within the plan's day in the city's time zone (until 06:00 "
        "the next day), not before the plan was created, not more than 10 minutes ahead of the server's clock"))


def _links(plan_id: str) -> dict[str, str]:
    return plan_urls(plan_id)


@bp.get("/plans/<plan_id>")
@access("inspector")
def get_plan(plan_id: str) -> Response:
    """A kept plan (its inspector and planners only; every read is audited)."""
    kept = load_plan(plan_id, action="plan.read")
    body = {k: v for k, v in kept.body.items() if k not in ("gpx", "sheet_html")}
    return jsonify({"id": kept.id, "created_at": kept.created_at.isoformat(), **body, "links": _links(kept.id)})


def _plan_visit(plan_id: str, visit_id: str, *, action: str) -> tuple[Any, str]:
    """A kept plan (access checked and audited) and the due date it recorded for a visit."""
    kept = load_plan(plan_id, action=action)
    due = kept.body.get("due", {})
    if visit_id not in due:
        msg = "the plan has no such visit"
        raise NotFound(msg)
    return kept, due[visit_id]


@bp.post("/plans/<plan_id>/visits/<visit_id>/done")
@access("inspector")
def visit_done(plan_id: str, visit_id: str) -> Response:
    """Mark one visit of a kept plan as made (the plan's inspector or a planner)."""
    kept, due = _plan_visit(plan_id, visit_id, action="plan.visit_done")
    body = validate_body(DoneBody, parse_json_body() if request.get_data(cache=True).strip() else {})
    done_at = body.done_at
    if done_at is not None and done_at.tzinfo is None:
        msg = "done_at needs a time zone (e.g. 2026-11-25T10:30:00+05:00)"
        raise InputError(msg)
    record = appeal_store().mark_done(inspector_id=kept.inspector_id, visit_ref=visit_id, due_date=due,
                                      done_at=done_at, plan_date=kept.body.get("date"),
                                      plan_created_at=kept.created_at, plan_id=kept.id)
    audit("visit.done", record_type="plan", record_id=plan_id, outcome="ok")
    return jsonify(record)


@bp.delete("/plans/<plan_id>/visits/<visit_id>/done")
@access("inspector")
def visit_undone(plan_id: str, visit_id: str) -> Response:
    """Take back a "made" mark set by mistake (the plan's inspector or a planner)."""
    kept, due = _plan_visit(plan_id, visit_id, action="plan.visit_undone")
    record = appeal_store().unmark_done(inspector_id=kept.inspector_id, visit_ref=visit_id, due_date=due,
                                        plan_id=kept.id)
    audit("visit.undone", record_type="plan", record_id=plan_id, outcome="ok")
    return jsonify(record)


@bp.get("/plans/<plan_id>/links")
@access("inspector")
def plan_links(plan_id: str) -> Response:
    """The route page links made to a kept plan (ids and times, never the tokens)."""
    kept = load_plan(plan_id, action="plan.links")
    return jsonify({"links": get_store().links_of_plan(kept.id)})


@bp.delete("/links/<link_id>")
@access("inspector")
def delete_link(link_id: str) -> Response:
    """Revoke one route page link (its creator or an admin); it is refused from the next request on."""
    return jsonify(revoke_link(link_id))


@bp.get("/plans/<plan_id>/gpx")
@access("inspector")
def get_gpx(plan_id: str) -> Response:
    """The plan as GPX 1.1 for navigation apps."""
    kept = load_plan(plan_id, action="plan.gpx")
    resp = Response(kept.body["gpx"], mimetype="application/gpx+xml")
    resp.headers["Content-Disposition"] = f'attachment; filename="route-{kept.body["date"]}.gpx"'
    return resp


@bp.get("/plans/<plan_id>/sheet")
@access("inspector")
def get_sheet(plan_id: str) -> Response:
    """The printable one-page route sheet, in ``?lang`` (kk, ru, en) or the browser's language,
    with each visit's address where it has one."""
    reject_unknown_args("lang")
    kept = load_plan(plan_id, action="plan.sheet")
    lang = choose_lang(request.args.get("lang"), request.headers.get("Accept-Language"))
    body = sheet_html(kept.body["plan"], lang=lang, date=kept.body.get("date"), inspector=str(kept.inspector_id or ""))
    resp = Response(body, mimetype="text/html")
    resp.headers["Content-Language"] = lang
    return resp


@bp.post("/schedule")
@access("inspector")
def schedule() -> Response:
    """Spread recurring visits over a period, balancing the days, and route each day: a queued
    job (the visits, addresses resolved, kept in the store for it); with ``wait`` (default) the
    answer waits at most `SCHEDULE_WAIT_S` for it (200), else 202 with the job's Location."""
    body = validate_body(ScheduleBody, parse_json_body())
    precinct_id, post = _inspector(body.inspector_id)
    warnings: list[str] = []
    visits = [{"visit": visit_inputs(_visit(r.visit, precinct_id=precinct_id, policy="warn", warnings=warnings)),
               "every_days": r.every_days, "per_month": r.per_month,
               "due": r.due.isoformat() if r.due else None, "min_gap_days": r.min_gap_days} for r in body.visits]
    inputs = {"inspector_id": body.inspector_id, "precinct_id": precinct_id, "post": list(_start(None, post)),
              "start_date": body.start_date.isoformat(), "days": body.days,
              "shift": shift_inputs(body.shift.to_shift()),
              "reception_weekdays": body.reception_weekdays, "days_off": [d.isoformat() for d in body.days_off],
              "mode": body.mode, "visits": visits, "save": body.save, "warnings": warnings}
    resp, final = start_job("schedule", inputs, role="inspector", precinct_ids=(precinct_id,),
                            subject=body.inspector_id, wait_s=SCHEDULE_WAIT_S if body.wait else 0.0)
    done = finished(resp, final)
    return resp if done is None else jsonify(done)


def openapi_paths() -> dict[str, Any]:
    """The paths of this blueprint for the OpenAPI document."""
    errors = problems(400, 401, 403, 404, 429, 503)
    auth: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
    obj = {"type": "object"}
    plan_id = [{"name": "plan_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    link = {"type": "object", "required": ["id", "plan_id", "created_at", "expires_at", "revoked_at"],
            "properties": {"id": {"type": "string"}, "plan_id": {"type": "string"},
                           "credential_id": {"type": ["string", "null"]}, "created_by": {"type": "string"},
                           "created_at": {"type": "string", "format": "date-time"},
                           "expires_at": {"type": "string", "format": "date-time"},
                           "revoked_at": {"type": ["string", "null"], "format": "date-time"}}}
    return {
        "/api/v1/routes/plan": {"post": {
            "summary": "plan one day's route", "security": auth,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/PlanBody"}}}},
            "responses": {"200": {"description": "planned (not kept)",
                                  "content": {"application/json": {"schema": obj}}},
                          "201": {"description": "planned and kept", "content": {"application/json": {"schema": obj}}},
                          **errors}}},
        "/api/v1/routes/plans/{plan_id}": {"get": {
            "summary": "a kept plan", "security": auth, "parameters": plan_id,
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": obj}}}, **errors}}},
        "/api/v1/routes/plans/{plan_id}/visits/{visit_id}/done": {"post": {
            "summary": "mark a visit of a kept plan as made (counts toward visits made on time)", "security": auth,
            "parameters": plan_id + [{"name": "visit_id", "in": "path", "required": True,
                                      "schema": {"type": "string", "pattern": r"^[\w.:-]{1,64}$"}}],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False,
                "properties": {"done_at": {"type": "string", "format": "date-time"}}}}}},
            "responses": {"200": {"description": "the visit record", "content": {"application/json": {"schema": {
                "type": "object", "required": ["visit_id", "due_date", "done_at", "on_time"],
                "properties": {"visit_id": {"type": "string"}, "due_date": {"type": "string", "format": "date"},
                               "done_at": {"type": "string", "format": "date-time"},
                               "on_time": {"type": "boolean"}}}}}}, **errors}},
            "delete": {
            "summary": "take back a made mark set by mistake", "security": auth,
            "parameters": plan_id + [{"name": "visit_id", "in": "path", "required": True,
                                      "schema": {"type": "string", "pattern": r"^[\w.:-]{1,64}$"}}],
            "responses": {"200": {"description": "the visit record, not made", "content": {"application/json": {
                "schema": {"type": "object", "required": ["visit_id", "due_date", "done_at"],
                           "properties": {"visit_id": {"type": "string"},
                                          "due_date": {"type": "string", "format": "date"},
                                          "done_at": {"type": "null"}}}}}}, **errors}}},
        "/api/v1/routes/plans/{plan_id}/links": {"get": {
            "summary": "the route page links made to a kept plan (no tokens)", "security": auth,
            "parameters": plan_id,
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "required": ["links"],
                "properties": {"links": {"type": "array", "items": link}}}}}}, **errors}}},
        "/api/v1/routes/links/{link_id}": {"delete": {
            "summary": "revoke a route page link (its creator or an admin)", "security": auth,
            "parameters": [{"name": "link_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the revoked link", "content": {"application/json": {
                "schema": link}}}, **errors}}},
        "/api/v1/routes/plans/{plan_id}/gpx": {"get": {
            "summary": "the plan as GPX", "security": auth, "parameters": plan_id,
            "responses": {"200": {"description": "OK", "content": {"application/gpx+xml": {"schema": {
                "type": "string"}}}}, **errors}}},
        "/api/v1/routes/plans/{plan_id}/sheet": {"get": {
            "summary": "the printable route sheet", "security": auth,
            "parameters": [*plan_id, {"name": "lang", "in": "query", "required": False,
                                      "schema": {"type": "string", "enum": ["kk", "ru", "en"]}}],
            "responses": {"200": {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}},
                          **errors}}},
        "/api/v1/routes/schedule": {"post": {
            "summary": "spread recurring visits over a period and route each day", "security": auth,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ScheduleBody"}}}},
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": obj}}},
                          "202": {"description": "queued or running: the job is at Location", "content": {
                              "application/json": {"schema": obj}}}, **errors}}},
    }

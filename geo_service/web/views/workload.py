"""Workload per precinct, balanced precinct proposals, and citizens' appeals."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any, Literal

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo_service.errors import InputError
from geo_service.jsonsafe import json_safe
from geo_service.routes.model import PREVENTIVE_REGISTER
from geo_service.web.context import appeal_store, get_city, lookup_service
from geo_service.web.jobs import fetch, finished, start_job
from geo_service.web.openapi_parts import ok_json, problems
from geo_service.web.security import access, audit, current_principal, require_precinct
from geo_service.web.validation import Day, Moment, parse_json_body, parse_period, reject_unknown_args, validate_body
from geo_service.workload.indicators import indicators, summary, to_csv
from geo_service.workload.reform import (
    EVALUATION_INDICATORS,
    MAX_TRUST_ROWS,
    check_trust_rows,
    difference_in_differences,
    evaluation_panel,
    monthly_indicators,
    trust_rows_from_csv,
    visits_on_time,
)

bp = Blueprint("workload", __name__, url_prefix="/api/v1")

#: How long ``POST /workload/balance`` with ``wait: true`` waits for its proposal (seconds): the
#: proposal runs as a queued job in a worker, and one that takes longer (Almaty's takes about
#: 21 s) answers 202 with its job's Location, so no request holds a web worker over 10 s.
BALANCE_WAIT_S = 9.0

@bp.get("/workload")
@access("planner")
def workload() -> Response:
    """Indicators and the workload index per precinct (JSON, or CSV with ``format=csv``)."""
    reject_unknown_args("from", "to", "format")
    start, end = parse_period()
    city = get_city()
    store = appeal_store()
    appeals = store.frame(start=start, end=end) if start or end else store.frame()
    period = (start, end) if start and end else None
    # Visits made in the period, counted per precinct by the database.
    visits = store.visits_made_by_precinct(start=start, end=end)
    visits.attrs["period"] = period
    frame = indicators(city, appeals=appeals, visits=visits, period=period)
    if request.args.get("format") == "csv":
        return Response(to_csv(frame), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="workload.csv"'})
    rows = frame.reset_index().replace({float("nan"): None}).to_dict(orient="records")
    return jsonify(json_safe({"weights": frame.attrs.get("weights_used"), "summary": summary(frame),
                              "ignored_times": frame.attrs.get("ignored_times", {}), "precincts": rows}))


class BalanceBody(BaseModel):
    """A balanced-precinct proposal around the city's posts."""

    model_config = ConfigDict(extra="forbid")
    tolerance: float = Field(default=0.10, gt=0, le=0.5, description="target band around the mean load")
    inspectors_per_post: dict[str, int] | None = Field(default=None, description="post_id -> inspectors there")
    hard_borders: dict[str, Any] | None = Field(default=None, description="GeoJSON lines or polygons that "
                                                "precincts must not cross (district borders, rivers, railways)")
    method: Literal["grow", "mip"] = "grow"
    max_extra_travel_min: float | None = Field(
        default=60.0, gt=0, le=1440,
        description="compactness rule: a block joins a post at most this many minutes' walk farther than its "
                    "nearest post (default 60; null: no rule, which balances better but may place residents "
                    "hours farther from their post than from the nearest one)")
    wait: bool = Field(default=True, description="wait up to 9 s for the proposal (201), else answer at once with "
                                                 "its job's Location (202; GET /api/v1/jobs/<id>: 202 while queued "
                                                 "or running, 200 once done, failed or cancelled)")


@bp.post("/workload/balance")
@access("planner")
def balance() -> Response:
    """Propose contiguous precincts with balanced workload, as a queued job; the proposal is kept.
    With ``wait`` (default) the answer waits at most `BALANCE_WAIT_S` for it (201), else 202."""
    body = validate_body(BalanceBody, parse_json_body(max_bytes=2_000_000))
    get_city()  # 503 before queueing when no city is loaded
    inputs = body.model_dump(exclude={"wait"})
    resp, final = start_job("balance", inputs, role="planner", wait_s=BALANCE_WAIT_S if body.wait else 0.0)
    done = finished(resp, final)
    if done is None:
        return resp
    out = jsonify({"id": final["id"], "created_at": final["created_at"], "status": "done", **done})  # type: ignore[index]
    out.status_code = 201
    out.headers["Location"] = f"/api/v1/workload/balance/{final['id']}"  # type: ignore[index]
    return out


@bp.get("/workload/balance/<result_id>")
@access("planner")
def balance_result(result_id: str) -> Response:
    """A kept balanced-precinct proposal."""
    return fetch("balance", result_id)


class AppealBody(BaseModel):
    """A citizen's appeal: where (a point or an address), what (a category code), when."""

    model_config = ConfigDict(extra="forbid")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, min_length=1, max_length=200)
    category: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="a category code, no free text")
    received_at: Moment | None = None

    @model_validator(mode="after")
    def _where(self) -> AppealBody:
        if (self.address is None) == (self.lat is None or self.lon is None):
            msg = "give lat and lon, or address"
            raise ValueError(msg)
        return self


@bp.post("/appeals")
@access("external_system")
def create_appeal() -> Response:
    """Record an appeal (e.g. from the eGov channel): it goes to the precinct's inspector."""
    body = validate_body(AppealBody, parse_json_body())
    lat, lon = body.lat, body.lon
    if body.address is not None:
        answer = lookup_service().by_address(body.address, limit=3, travel=False)
        if answer["ambiguous"]:
            msg = "the address is ambiguous; give lat and lon"
            raise InputError(msg, candidates=answer["candidates"][:3])
        lat, lon = answer["candidates"][0]["lat"], answer["candidates"][0]["lon"]
    appeal = appeal_store().create(lat=lat, lon=lon, category=body.category, received_at=body.received_at)
    audit("appeal.create", record_type="appeal", record_id=appeal.id, outcome="ok")
    resp = jsonify(appeal.to_dict())
    resp.status_code = 201
    return resp


class StatusBody(BaseModel):
    """The next step of an appeal."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["first_contact", "closed"]
    at: Moment | None = None


@bp.post("/appeals/<appeal_id>/status")
@access("inspector")
def appeal_status(appeal_id: str) -> Response:
    """Move an appeal on: received -> first_contact -> closed (own precinct)."""
    body = validate_body(StatusBody, parse_json_body())
    store = appeal_store()
    appeal = store.get(appeal_id)
    require_precinct(appeal.precinct_id)
    appeal = store.advance(appeal_id, body.status, body.at)
    audit("appeal.status", record_type="appeal", record_id=appeal_id, outcome=body.status)
    return jsonify(appeal.to_dict())


@bp.get("/appeals")
@access("inspector")
def list_appeals() -> Response:
    """Open appeals of the caller's precincts (planners: all, or ``precinct_id=``)."""
    principal = current_principal()
    precinct = request.args.get("precinct_id")
    frame = appeal_store().frame(precinct_id=precinct, checked=False)  # as stored
    if principal.role == "inspector":
        frame = frame[frame.precinct_id.isin(principal.precinct_ids)]
    frame = frame[frame.status != "closed"]
    audit("appeal.list", record_type="precinct", record_id=precinct or ",".join(principal.precinct_ids) or "*",
          outcome=f"ok:{len(frame)}")
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    for row in rows:
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                row[key] = value.isoformat()
    return jsonify({"count": len(rows), "appeals": rows})


@bp.get("/appeals/indicators")
@access("planner")
def appeal_indicators() -> Response:
    """Appeal processing time per precinct: median and 90th percentile hours; with the share
    of preventive-register visits made on time (visits due in the period, from kept plans)."""
    start, end = parse_period()
    store = appeal_store()
    frame = store.processing_times(start=start, end=end)
    rows = frame.reset_index().astype(object).where(frame.reset_index().notna(), None).to_dict(orient="records")
    visits = store.visit_frame(start=start, end=end, priority=PREVENTIVE_REGISTER)
    on_time = visits_on_time(visits)
    vrows = on_time.astype(object).where(on_time.notna(), None).to_dict(orient="records")
    return jsonify(json_safe({"precincts": rows, "register_visits": vrows}))


@bp.post("/workload/trust")
@access("planner")
def import_trust() -> Response:
    """Import public-trust survey results (CSV ``precinct_id,period,score`` or JSON rows); a row
    replaces the same precinct and period. Any bad row refuses the whole import (400, one
    line per bad row in ``problems``)."""
    limit = 5_000_000
    if request.mimetype in ("text/csv", "text/plain"):
        raw = request.get_data(cache=True)
        if len(raw) > limit:
            msg = f"the body is larger than {limit} bytes"
            raise InputError(msg)
        try:
            rows: list[Any] = trust_rows_from_csv(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise InputError("the CSV is not UTF-8") from None
    else:
        doc = parse_json_body(max_bytes=limit)
        if not isinstance(doc.get("rows"), list) or set(doc) - {"rows"}:
            raise InputError("send {\"rows\": [{\"precinct_id\": ..., \"period\": ..., \"score\": ...}, ...]}")
        rows = doc["rows"]
    if not rows:
        raise InputError("no survey rows given")
    if len(rows) > MAX_TRUST_ROWS:
        msg = f"at most {MAX_TRUST_ROWS} rows in one import"
        raise InputError(msg)
    known = {str(p) for p in get_city().precincts["precinct_id"]}
    good, bad = check_trust_rows(rows, known)
    if bad:
        msg = f"{len(bad)} bad row(s); nothing was imported"
        raise InputError(msg, problems=bad[:100])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trust.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["precinct_id", "period", "score"])
            w.writerows([(p, d.isoformat(), repr(s)) for p, d, s in good])
        n = appeal_store().import_trust_csv(path)
    audit("workload.trust", record_type="trust_scores", outcome=f"{n} rows")
    resp = jsonify({"imported": n, "precincts": len({p for p, _, _ in good})})
    resp.status_code = 201
    return resp


class PilotBody(BaseModel):
    """A pilot precinct from a date (a new post opened, a new practice)."""

    model_config = ConfigDict(extra="forbid")
    precinct_id: str = Field(min_length=1, max_length=200)
    start: Day
    note: str | None = Field(default=None, max_length=200, description="what the pilot changed (no personal data)")


@bp.post("/workload/pilots")
@access("planner")
def mark_pilot() -> Response:
    """Mark a precinct as a pilot from ``start``; marking it again moves the date."""
    body = validate_body(PilotBody, parse_json_body())
    known = {str(p) for p in get_city().precincts["precinct_id"]}
    if body.precinct_id not in known:
        msg = f"precinct {body.precinct_id[:80]!r} is not in the city"
        raise InputError(msg)
    appeal_store().mark_pilot(body.precinct_id, body.start, note=body.note)
    audit("workload.pilot", record_type="pilot", record_id=body.precinct_id, outcome=body.start.isoformat())
    resp = jsonify({"precinct_id": body.precinct_id, "start": body.start.isoformat(), "note": body.note})
    resp.status_code = 201
    return resp


@bp.get("/workload/pilots/evaluation")
@access("planner")
def pilot_evaluation() -> Response:
    """Difference in differences of the pilots against the other precincts, with the caveat."""
    reject_unknown_args("indicator")
    indicator = request.args.get("indicator", "appeals")
    if indicator not in EVALUATION_INDICATORS:
        msg = f"indicator must be one of {', '.join(EVALUATION_INDICATORS)}"
        raise InputError(msg)
    store = appeal_store()
    pilots = store.pilot_starts()
    if not pilots:
        raise InputError("no pilot precincts are marked; POST /api/v1/workload/pilots first")
    ids = [str(p) for p in get_city().precincts["precinct_id"]]
    panel = evaluation_panel(indicator, store.frame(), store.trust_scores(), ids)
    result = difference_in_differences(panel, pilots)
    out = result.to_dict()
    return jsonify(json_safe({"indicator": indicator, "pilots": {k: v.isoformat() for k, v in pilots.items()},
                              **out}))


@bp.get("/workload/indicators.csv")
@access("planner")
def indicators_csv() -> Response:
    """The reform's monthly indicators per precinct as CSV: the months from ``from`` up to
    ``to`` (exclusive; a ``to`` inside a month keeps that month)."""
    reject_unknown_args("from", "to")
    start, end = parse_period()
    store = appeal_store()
    frame = monthly_indicators(store.frame(), store.trust_scores(), store.visit_frame())
    if start is not None:
        frame = frame[frame["period"] >= start.strftime("%Y-%m")]
    if end is not None:
        last = end.strftime("%Y-%m")
        frame = frame[frame["period"] < last] if end.day == 1 else frame[frame["period"] <= last]
    return Response(to_csv(frame), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="reform-indicators.csv"'})


def openapi_paths() -> dict[str, Any]:
    """The paths of this blueprint for the OpenAPI document."""
    errors = problems(400, 401, 403, 404, 429, 503)
    auth: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
    obj = {"type": "object"}

    def ok(status: str = "200", media: str = "application/json") -> dict[str, Any]:
        return {status: ok_json(obj if media.endswith("json") else {"type": "string"}, media=media)["200"]}

    def body(name: str) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}

    date = {"type": "string", "format": "date"}
    period = [{"name": "from", "in": "query", "schema": date}, {"name": "to", "in": "query", "schema": date}]
    trust_body = {"type": "object", "additionalProperties": False, "required": ["rows"], "properties": {
        "rows": {"type": "array", "minItems": 1, "maxItems": MAX_TRUST_ROWS, "items": {
            "type": "object", "additionalProperties": False, "required": ["precinct_id", "period", "score"],
            "properties": {"precinct_id": {"type": "string", "minLength": 1, "maxLength": 200},
                           "period": {"type": "string", "description": "2026-01-01 or 2026-01", "maxLength": 10},
                           "score": {"type": "number"}}}}}}
    pilot_body = {"type": "object", "additionalProperties": False, "required": ["precinct_id", "start"], "properties": {
        "precinct_id": {"type": "string", "minLength": 1, "maxLength": 200}, "start": date,
        "note": {"type": ["string", "null"], "maxLength": 200}}}
    return {
        "/api/v1/workload": {"get": {
            "summary": "indicators and the workload index per precinct", "security": auth,
            "parameters": [*period, {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": obj},
                                                                   "text/csv": {"schema": {"type": "string"}}}},
                          **errors}}},
        "/api/v1/workload/balance": {"post": {
            "summary": "propose balanced, contiguous precincts", "security": auth, "requestBody": body("BalanceBody"),
            "responses": {**ok("201"), **ok("202"), **errors}}},
        "/api/v1/workload/balance/{result_id}": {"get": {
            "summary": "a kept proposal, or its job (202 while it runs)", "security": auth,
            "parameters": [{"name": "result_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {**ok(), **ok("202"), **errors}}},
        "/api/v1/appeals": {
            "post": {"summary": "record a citizen's appeal", "security": auth, "requestBody": body("AppealBody"),
                     "responses": {**ok("201"), **errors}},
            "get": {"summary": "open appeals of the caller's precincts", "security": auth,
                    "parameters": [{"name": "precinct_id", "in": "query", "schema": {"type": "string"}}],
                    "responses": {**ok(), **errors}}},
        "/api/v1/appeals/{appeal_id}/status": {"post": {
            "summary": "move an appeal on", "security": auth, "requestBody": body("StatusBody"),
            "parameters": [{"name": "appeal_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {**ok(), **errors}}},
        "/api/v1/appeals/indicators": {"get": {
            "summary": "appeal processing times and preventive-register visits made on time, per precinct",
            "security": auth,
            "parameters": list(period),
            "responses": {**ok(), **errors}}},
        "/api/v1/workload/trust": {"post": {
            "summary": "import public-trust survey results (CSV precinct_id,period,score, or JSON rows)",
            "security": auth,
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": trust_body},
                "text/csv": {"schema": {"type": "string", "description": "header precinct_id,period,score"}}}},
            "responses": {**ok("201"), **errors}}},
        "/api/v1/workload/pilots": {"post": {
            "summary": "mark a precinct as a pilot from a date", "security": auth,
            "requestBody": {"required": True, "content": {"application/json": {"schema": pilot_body}}},
            "responses": {**ok("201"), **errors}}},
        "/api/v1/workload/pilots/evaluation": {"get": {
            "summary": "difference in differences of the pilots against the other precincts (with the caveat)",
            "security": auth,
            "parameters": [{"name": "indicator", "in": "query", "schema": {"enum": list(EVALUATION_INDICATORS)}}],
            "responses": {**ok(), **errors}}},
        "/api/v1/workload/indicators.csv": {"get": {
            "summary": "the reform's monthly indicators per precinct (CSV)", "security": auth,
            "parameters": list(period),
            "responses": {**ok(media="text/csv"), **errors}}},
    }

"""Workload per precinct, balanced precinct proposals, and citizens' appeals."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..app import get_city
from ..errors import InputError, NotFound
from ..security import access, audit, current_principal, get_store, parse_json_body, require_precinct
from .lookup import _model, lookup_service
from .siting import json_safe

bp = Blueprint("workload", __name__, url_prefix="/api/v1")

APPEAL_STATUSES = ("first_contact", "closed")


def appeal_store() -> Any:
    """The appeals of the city this request sees (tables in the service's store)."""
    from ..appeals import AppealStore

    city = get_city()
    store = get_store()
    return city.cached(f"appeals:{id(store)}", lambda: AppealStore(store, city=city))


def _period() -> tuple[dt.datetime | None, dt.datetime | None]:
    out = []
    for name in ("from", "to"):
        value = request.args.get(name)
        if value is None:
            out.append(None)
            continue
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            msg = f"{name} must be a date like 2026-11-01"
            raise InputError(msg) from None
        out.append(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC))
    return out[0], out[1]


@bp.get("/workload")
@access("planner")
def workload() -> Response:
    """Indicators and the workload index per precinct (JSON, or CSV with ``format=csv``)."""
    from ..workload import indicators, summary, to_csv

    unknown = set(request.args) - {"from", "to", "format"}
    if unknown:
        msg = f"unknown parameter(s): {', '.join(sorted(unknown))}"
        raise InputError(msg)
    start, end = _period()
    city = get_city()
    appeals = appeal_store().frame(start=start, end=end) if start or end else appeal_store().frame()
    frame = indicators(city, appeals=appeals, period=(start, end) if start and end else None)
    if request.args.get("format") == "csv":
        return Response(to_csv(frame), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="workload.csv"'})
    rows = frame.reset_index().replace({float("nan"): None}).to_dict(orient="records")
    return jsonify(json_safe({"weights": frame.attrs.get("weights_used"), "summary": summary(frame),
                              "precincts": rows}))


class BalanceBody(BaseModel):
    """A balanced-precinct proposal around the city's posts."""

    model_config = ConfigDict(extra="forbid")
    tolerance: float = Field(default=0.10, gt=0, le=0.5, description="target band around the mean load")
    inspectors_per_post: dict[str, int] | None = Field(default=None, description="post_id -> inspectors there")
    hard_borders: dict[str, Any] | None = Field(default=None, description="GeoJSON lines or polygons that "
                                                "precincts must not cross (district borders, rivers, railways)")
    method: Literal["grow", "mip"] = "grow"


@bp.post("/workload/balance")
@access("planner")
def balance() -> Response:
    """Propose contiguous precincts with balanced workload; the proposal is kept."""
    from ..balance import balance_precincts

    body = _model(BalanceBody, parse_json_body(max_bytes=2_000_000))
    result = balance_precincts(get_city(), inspectors_per_post=body.inspectors_per_post,
                               hard_borders=body.hard_borders, tolerance=body.tolerance, method=body.method)
    out = json_safe(result.to_dict())
    rid = get_store().save_result(kind="balance", created_by=current_principal().label, body=out)
    audit("workload.balance", record_type="balance", record_id=rid, outcome="ok")
    resp = jsonify({"id": rid, **out})
    resp.status_code = 201
    resp.headers["Location"] = f"/api/v1/workload/balance/{rid}"
    return resp


@bp.get("/workload/balance/<result_id>")
@access("planner")
def balance_result(result_id: str) -> Response:
    """A kept balanced-precinct proposal."""
    kept = get_store().get_result(result_id, kind="balance")
    if kept is None:
        msg = "no balance proposal with this id"
        raise NotFound(msg)
    return jsonify({"id": kept["id"], "created_at": kept["created_at"], **kept["body"]})


class AppealBody(BaseModel):
    """A citizen's appeal: where (a point or an address), what (a category code), when."""

    model_config = ConfigDict(extra="forbid")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, min_length=1, max_length=200)
    category: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="a category code, no free text")
    received_at: dt.datetime | None = None

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
    body = _model(AppealBody, parse_json_body())
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
    at: dt.datetime | None = None


@bp.post("/appeals/<appeal_id>/status")
@access("inspector")
def appeal_status(appeal_id: str) -> Response:
    """Move an appeal on: received -> first_contact -> closed (own precinct)."""
    body = _model(StatusBody, parse_json_body())
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
    frame = appeal_store().frame(precinct_id=precinct)
    if principal.role == "inspector":
        frame = frame[frame.precinct_id.isin(principal.precinct_ids)]
    frame = frame[frame.status != "closed"]
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    for row in rows:
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                row[key] = value.isoformat()
    return jsonify({"count": len(rows), "appeals": rows})


@bp.get("/appeals/indicators")
@access("planner")
def appeal_indicators() -> Response:
    """Appeal processing time per precinct: median and 90th percentile hours."""
    start, end = _period()
    frame = appeal_store().processing_times(start=start, end=end)
    rows = frame.reset_index().astype(object).where(frame.reset_index().notna(), None).to_dict(orient="records")
    return jsonify({"precincts": rows})


def openapi_paths() -> dict[str, Any]:
    """The paths of this blueprint for the OpenAPI document."""
    from .openapi import problems

    errors = problems(400, 401, 403, 404, 429, 503)
    auth = [{"bearer": []}, {"apiKey": []}]
    obj = {"type": "object"}

    def ok(status: str = "200", media: str = "application/json") -> dict[str, Any]:
        return {status: {"description": "OK", "content": {media: {"schema": obj if media.endswith("json")
                                                                   else {"type": "string"}}}}}

    def body(name: str) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}

    date = {"type": "string", "format": "date"}
    return {
        "/api/v1/workload": {"get": {
            "summary": "indicators and the workload index per precinct", "security": auth,
            "parameters": [{"name": "from", "in": "query", "schema": date}, {"name": "to", "in": "query", "schema": date},
                           {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": obj},
                                                                   "text/csv": {"schema": {"type": "string"}}}},
                          **errors}}},
        "/api/v1/workload/balance": {"post": {
            "summary": "propose balanced, contiguous precincts", "security": auth, "requestBody": body("BalanceBody"),
            "responses": {**ok("201"), **errors}}},
        "/api/v1/workload/balance/{result_id}": {"get": {
            "summary": "a kept proposal", "security": auth,
            "parameters": [{"name": "result_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {**ok(), **errors}}},
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
            "summary": "appeal processing times per precinct", "security": auth,
            "parameters": [{"name": "from", "in": "query", "schema": date}, {"name": "to", "in": "query", "schema": date}],
            "responses": {**ok(), **errors}}},
    }

"""Where to open new posts: run a siting model and keep its result for planners.

A run over at most `SYNC_MAX_CANDIDATES` candidate sites is solved in the request (within
its 8 s budget) and answered 201; a larger one, or one asked with ``wait: false``, runs as a
queued job in a worker (budget `JOB_BUDGET_S`), the answer waiting at most `SITING_WAIT_S`
for it (201) before answering 202 with the job's Location.

``POST /results/<id>/map`` makes the result's map layers (the area each post reaches) a
queued ``siting_map`` job: 202 with the job's Location, the same job while it is queued or
running, 200 when the layers are kept already (the map page then opens at once).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import Field

from geo_service.errors import InputError, NotFound
from geo_service.siting.request import SitingBody, run_siting
from geo_service.web.context import get_city, get_store
from geo_service.web.jobs import (
    authorize_job,
    fetch,
    finished,
    job_links,
    keep,
    siting_map_layers,
    start_job,
    start_siting_map,
)
from geo_service.web.openapi_parts import problems
from geo_service.web.security import access
from geo_service.web.validation import parse_json_body, validate_body

bp = Blueprint("siting", __name__, url_prefix="/api/v1/siting")

#: Runs over at most this many candidate sites are solved in the request.
SYNC_MAX_CANDIDATES = 2000
#: How long a waited-for siting job may hold the request (seconds).
SITING_WAIT_S = 9.0
#: A queued siting run's budget (seconds): travel times and the solver together.
JOB_BUDGET_S = 120.0


class SitingRequest(SitingBody):
    """A siting run, and whether to wait for it."""

    wait: bool = Field(default=True, description=(
        f"over {SYNC_MAX_CANDIDATES} candidates the run is a queued job: wait up to {SITING_WAIT_S:g} s for it "
        "(201), else 202 with the job's Location; false: always a job, answered at once"))


def candidate_count(body: SitingBody) -> int:
    """How many candidate sites a run considers at most."""
    return len(body.candidates) if isinstance(body.candidates, list) else body.max_candidates


@bp.post("/solve")
@access("planner")
def solve() -> Response:
    """Solve a siting model; the result is kept and can be fetched again by its id."""
    req = validate_body(SitingRequest, parse_json_body())
    body = SitingBody(**req.model_dump(exclude={"wait"}))
    city = get_city()
    if req.wait and candidate_count(body) <= SYNC_MAX_CANDIDATES:
        return keep("siting", run_siting(city, body), location="/api/v1/siting/results")
    inputs = {"body": body.model_dump(mode="json"), "budget_s": max(JOB_BUDGET_S, 2 * body.time_limit)}
    resp, final = start_job("siting", inputs, role="planner", wait_s=SITING_WAIT_S if req.wait else 0.0)
    done = finished(resp, final)
    if done is None:
        return resp
    out = jsonify({"id": final["id"], **done})  # type: ignore[index]
    out.status_code = 201
    out.headers["Location"] = f"/api/v1/siting/results/{final['id']}"  # type: ignore[index]
    return out


@bp.get("/results/<result_id>")
@access("planner")
def result(result_id: str) -> Response:
    """A kept siting result (202 while its job is queued or running)."""
    return fetch("siting", result_id)


@bp.post("/results/<result_id>/map")
@access("planner")
def map_layers_job(result_id: str) -> Response:
    """Queue (once) the job drawing a kept result's map layers; 200 when they are kept already."""
    kept = get_store().get_result(result_id, kind="siting")
    if kept is None:
        msg = "no siting result with this id"
        raise NotFound(msg)
    if kept["body"].get("status") in ("queued", "running", "failed", "cancelled"):
        msg = "this siting run has no result to draw (it is still solving, failed or was cancelled)"
        raise InputError(msg, field="result_id")
    layers = siting_map_layers(kept["id"], kept["body"], get_city())
    page = f"/siting/{kept['id']}/map"
    if layers.state == "kept":
        return jsonify({"id": layers.ref, "kind": "siting_map", "status": "done", "links": {"map": page}})
    if layers.state == "pending" and layers.job is not None:
        authorize_job(layers.job, action="siting_map.read")
        job = layers.job
    else:
        job = start_siting_map(kept["id"], layers)
    resp = jsonify({"id": job["id"], "kind": "siting_map", "status": job["status"],
                    "links": {**job_links("siting_map", job["id"]), "map": page}})
    resp.status_code = 202
    resp.headers["Location"] = f"/api/v1/jobs/{job['id']}"
    resp.headers["Retry-After"] = "2"
    return resp


def openapi_paths() -> dict[str, Any]:
    """The paths of this blueprint for the OpenAPI document."""
    errors = problems(400, 401, 403, 404, 429, 503)
    ok = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
    map_doc = {"type": "object", "required": ["id", "kind", "status", "links"], "properties": {
        "id": {"type": "string"}, "kind": {"const": "siting_map"},
        "status": {"enum": ["queued", "running", "done"]}, "links": {"type": "object", "properties": {
            "self": {"type": "string"}, "map": {"type": "string"}}}}}
    return {
        "/api/v1/siting/solve": {"post": {
            "summary": "choose new post sites (MCLP, LSCP, p-median, backup coverage)",
            "security": [{"bearer": []}, {"apiKey": []}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/SitingRequest"}}}},
            "responses": {"201": {"description": "solved and kept", "content": {"application/json": {
                "schema": ok}}},
                "202": {"description": "a queued job: its Location answers", "content": {"application/json": {
                    "schema": ok}}}, **errors}}},
        "/api/v1/siting/results/{result_id}": {"get": {
            "summary": "a kept siting result", "security": [{"bearer": []}, {"apiKey": []}],
            "parameters": [{"name": "result_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}},
                          "202": {"description": "its job is queued or running", "content": {
                              "application/json": {"schema": ok}}}, **errors}}},
        "/api/v1/siting/results/{result_id}/map": {"post": {
            "summary": "draw a kept result's map layers (each post's service area) as a queued job",
            "description": ("202 with the siting_map job's Location (the same job while it is queued or running); "
                            "200 when the layers are kept for this result and bundle version already. The map "
                            "page /siting/{result_id}/map then opens at once."),
            "security": [{"bearer": []}, {"apiKey": []}],
            "parameters": [{"name": "result_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the layers are kept", "content": {"application/json": {
                "schema": map_doc}}},
                "202": {"description": "a queued siting_map job: its Location answers", "content": {
                    "application/json": {"schema": map_doc}}}, **errors}}},
    }

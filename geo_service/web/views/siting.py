"""Where to open new posts: run a siting model and keep its result for planners.

A run over at most `SYNC_MAX_CANDIDATES` candidate sites is solved in the request (within
its 8 s budget) and answered 201; a larger one, or one asked with ``wait: false``, runs as a
queued job in a worker (budget `JOB_BUDGET_S`), the answer waiting at most `SITING_WAIT_S`
for it (201) before answering 202 with the job's Location.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import Field

from geo_service.siting.request import SitingBody, run_siting
from geo_service.web.context import get_city
from geo_service.web.jobs import fetch, finished, keep, start_job
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


def openapi_paths() -> dict[str, Any]:
    """The paths of this blueprint for the OpenAPI document."""
    errors = problems(400, 401, 403, 404, 429, 503)
    ok = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
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
    }

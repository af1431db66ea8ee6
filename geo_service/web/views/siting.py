"""Where to open new posts: run a siting model and keep its result for planners."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from geo_service.siting.request import SitingBody, run_siting
from geo_service.web.context import get_city
from geo_service.web.jobs import fetch, keep
from geo_service.web.openapi_parts import problems
from geo_service.web.security import access
from geo_service.web.validation import parse_json_body, validate_body

bp = Blueprint("siting", __name__, url_prefix="/api/v1/siting")


@bp.post("/solve")
@access("planner")
def solve() -> Response:
    """Solve a siting model; the result is kept and can be fetched again by its id."""
    body = validate_body(SitingBody, parse_json_body())
    return keep("siting", run_siting(get_city(), body), location="/api/v1/siting/results")


@bp.get("/results/<result_id>")
@access("planner")
def result(result_id: str) -> Response:
    """A kept siting result."""
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
                "schema": {"$ref": "#/components/schemas/SitingBody"}}}},
            "responses": {"201": {"description": "solved and kept", "content": {"application/json": {
                "schema": ok}}}, **errors}}},
        "/api/v1/siting/results/{result_id}": {"get": {
            "summary": "a kept siting result", "security": [{"bearer": []}, {"apiKey": []}],
            "parameters": [{"name": "result_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}}, **errors}}},
    }

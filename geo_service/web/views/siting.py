"""Where to open new posts: run a siting model and keep its result for planners."""

from __future__ import annotations

import json
from typing import Any, Literal

import shapely
from flask import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo_service.errors import InputError
from geo_service.jsonsafe import json_safe
from geo_service.web.context import get_city
from geo_service.web.jobs import fetch, keep
from geo_service.web.security import access
from geo_service.web.validation import LatLon, parse_json_body
from geo_service.web.validation import validate_body as _model

bp = Blueprint("siting", __name__, url_prefix="/api/v1/siting")

MAX_CANDIDATE_POINTS = 5000


class RegionGeometry(BaseModel):
    """A GeoJSON Polygon or MultiPolygon ([lon, lat])."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(min_length=1)


class SitingBody(BaseModel):
    """A siting run over the loaded city's road network."""

    model_config = ConfigDict(extra="forbid")
    model: Literal["mclp", "lscp", "pmedian", "backup"] = Field(description="mclp: most residents within T with p "
                                                                "new posts; lscp: fewest posts covering all; "
                                                                "pmedian: least mean time; backup: covered twice")
    minutes: float = Field(gt=0, le=60, description="T, the travel time that counts as covered")
    p: int | None = Field(default=None, ge=1, le=200, description="new posts to open (not for lscp)")
    mode: Literal["walk", "drive"] = "walk"
    candidates: Literal["nodes", "buildings", "grid"] | list[LatLon] = Field(
        default="nodes", description="road nodes, buildings, a grid, or a planner's list of [lat, lon]")
    max_candidates: int = Field(default=2000, ge=1, le=50_000)
    existing: Literal["posts", "none"] | list[LatLon] = Field(
        default="posts", description="posts already open (fixed): the city's posts, none, or [lat, lon] points")
    region: RegionGeometry | None = Field(default=None, description="a GeoJSON Polygon or MultiPolygon geometry")
    demand_source: Literal["buildings+addresses", "buildings", "addresses"] = "buildings+addresses"
    time_limit: float = Field(default=60, gt=0, le=300, description="solver time limit, seconds")

    @model_validator(mode="after")
    def _check(self) -> SitingBody:
        if self.model != "lscp" and self.p is None:
            msg = "p is required for mclp, pmedian and backup"
            raise ValueError(msg)
        if isinstance(self.candidates, list) and not 1 <= len(self.candidates) <= MAX_CANDIDATE_POINTS:
            msg = f"a candidate list holds 1 to {MAX_CANDIDATE_POINTS} points"
            raise ValueError(msg)
        return self


def _region(geojson: dict[str, Any] | None) -> shapely.Geometry | None:
    if geojson is None:
        return None
    try:
        geom = shapely.from_geojson(json.dumps(geojson))
    except (shapely.errors.GEOSException, ValueError, TypeError):
        geom = None
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid:
        msg = "region must be a valid GeoJSON Polygon or MultiPolygon in [lon, lat]"
        raise InputError(msg)
    return geom


def run_siting(city: Any, body: SitingBody) -> dict[str, Any]:
    """Build, solve and report one siting model (the view and the CLI share this)."""
    from geo_service.siting.base import MODELS  # scipy and HiGHS load on first use, not at server start

    existing: Any = {"posts": "posts", "none": None}.get(body.existing, body.existing) \
        if isinstance(body.existing, str) else body.existing
    model = MODELS[body.model].from_city(
        city, minutes=body.minutes, p=body.p, mode=body.mode, candidates=body.candidates,
        max_candidates=body.max_candidates, existing=existing,
        region=_region(body.region.model_dump() if body.region else None),
        demand_source=body.demand_source, time_limit=body.time_limit)
    result = model.solve().to_dict()
    result["request"] = body.model_dump(exclude={"region"}) | {"region": body.region is not None}
    result["bundle_version"] = city.manifest["bundle_version"]
    return json_safe(result)



@bp.post("/solve")
@access("planner")
def solve() -> Response:
    """Solve a siting model; the result is kept and can be fetched again by its id."""
    body = _model(SitingBody, parse_json_body())
    return keep("siting", run_siting(get_city(), body), location="/api/v1/siting/results")


@bp.get("/results/<result_id>")
@access("planner")
def result(result_id: str) -> Response:
    """A kept siting result."""
    return fetch("siting", result_id)


def openapi_paths() -> dict[str, Any]:
    """The paths of this blueprint for the OpenAPI document."""
    from geo_service.web.openapi_parts import problems

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

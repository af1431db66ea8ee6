"""Point-to-point routes, travel-time matrices and isochrones over the road graph."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from geo_service.errors import InputError
from geo_service.lookup.service import check_point
from geo_service.network.reach import MAX_MATRIX_POINTS, MAX_MINUTES, isochrone, travel_matrix
from geo_service.web.context import get_city
from geo_service.web.openapi_parts import problems
from geo_service.web.security import access, current_principal
from geo_service.web.validation import (
    LatLon,
    check_mode,
    parse_json_body,
    parse_latlon,
    reject_unknown_args,
    validate_body,
)

bp = Blueprint("reach", __name__, url_prefix="/api/v1")

#: The longest isochrone (minutes) per mode a caller may ask for: without credentials 30 minutes
#: on foot and 15 by car (a public 120-minute drive reaches the whole city and cost 3.5 s of CPU);
#: with a key or token the graph's `MAX_MINUTES` on foot and 60 minutes by car.
ISOCHRONE_CAPS: dict[str, dict[str, float]] = {
    "public": {"walk": 30.0, "drive": 15.0},
    "authenticated": {"walk": MAX_MINUTES, "drive": 60.0},
}


def isochrone_cap(mode: str) -> float:
    """The longest isochrone this request's caller may ask for in ``mode``."""
    who = "public" if current_principal().kind == "anonymous" else "authenticated"
    return ISOCHRONE_CAPS[who][mode]


@bp.get("/route")
@access("inspector")
def route() -> Response:
    """Time, distance and GeoJSON path between two points (``from`` and ``to`` as lat,lon)."""
    reject_unknown_args("from", "to", "mode")
    a = parse_latlon(request.args.get("from"), "from")
    b = parse_latlon(request.args.get("to"), "to")
    graph = get_city().graph(check_mode(request.args.get("mode")))
    r = graph.route(a[0], a[1], b[0], b[1])
    if r is None:
        msg = "no route joins these points on the road network"
        raise InputError(msg)
    return jsonify({"mode": graph.mode, **r.to_dict()})


class MatrixBody(BaseModel):
    """Travel times between up to 500 sources and 500 targets, [lat, lon] each."""

    model_config = ConfigDict(extra="forbid")
    sources: list[LatLon] = Field(min_length=1, max_length=MAX_MATRIX_POINTS)
    targets: list[LatLon] | None = Field(default=None, min_length=1, max_length=MAX_MATRIX_POINTS,
                                         description="default: the sources")
    mode: Literal["walk", "drive"] = "walk"


@bp.post("/matrix")
@access("external_system")
def matrix() -> Response:
    """A travel-time matrix in seconds (null when unreachable)."""
    body = validate_body(MatrixBody, parse_json_body())
    graph = get_city().graph(body.mode)
    return jsonify(travel_matrix(graph, body.sources, body.targets or body.sources))


@bp.get("/isochrone")
@access("public")
def isochrone_view() -> Response:
    """The area reachable from a point within ``minutes`` (GeoJSON Feature)."""
    reject_unknown_args("lat", "lon", "minutes", "mode")
    lat, lon = check_point(request.args.get("lat"), request.args.get("lon"))
    mode = check_mode(request.args.get("mode"))
    try:
        minutes = float(request.args.get("minutes", "10"))
    except ValueError:
        minutes = float("nan")
    if not 0 < minutes <= MAX_MINUTES:
        msg = f"minutes must be a number more than 0 and at most {MAX_MINUTES:g}"
        raise InputError(msg, field="minutes", rule="range")
    cap = isochrone_cap(mode)
    if minutes > cap:
        who = "without credentials" if current_principal().kind == "anonymous" else "with credentials"
        msg = f"minutes: a {mode} isochrone {who} is at most {cap:g} minutes, not {minutes:g}"
        raise InputError(msg, field="minutes", rule="isochrone_cap", maximum=cap)
    feature: dict[str, Any] = isochrone(get_city().graph(mode), lat, lon, minutes)
    resp = jsonify(feature)
    resp.mimetype = "application/geo+json"
    return resp


def openapi_paths() -> dict[str, Any]:
    """The paths of this blueprint for the OpenAPI document."""
    errors = problems(400, 401, 403, 429, 503)
    mode = {"name": "mode", "in": "query", "schema": {"enum": ["walk", "drive"]}}
    latlon = {"type": "string", "description": "lat,lon in decimal degrees",
              "pattern": r"^-?(90(\.0+)?|[1-8]?\d(\.\d+)?),-?(180(\.0+)?|(1[0-7]\d|[1-9]?\d)(\.\d+)?)$"}
    return {
        "/api/v1/route": {"get": {
            "summary": "time, distance and path between two points", "security": [{"bearer": []}, {"apiKey": []}],
            "parameters": [{"name": "from", "in": "query", "required": True, "schema": latlon},
                           {"name": "to", "in": "query", "required": True, "schema": latlon}, mode],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "required": ["time_s", "length_m", "geometry"]}}}}, **errors}}},
        "/api/v1/matrix": {"post": {
            "summary": "travel-time matrix (seconds)", "security": [{"apiKey": []}, {"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/MatrixBody"}}}},
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "required": ["durations_s"]}}}}, **errors}}},
        "/api/v1/isochrone": {"get": {
            "summary": "area reachable within T minutes", "security": [{}, {"apiKey": []}, {"bearer": []}],
            "parameters": [{"name": "lat", "in": "query", "required": True,
                            "schema": {"type": "number", "minimum": -90, "maximum": 90}},
                           {"name": "lon", "in": "query", "required": True,
                            "schema": {"type": "number", "minimum": -180, "maximum": 180}},
                           {"name": "minutes", "in": "query", "description": (
                               "at most {pw:g} (walk) or {pd:g} (drive) without credentials; {aw:g} or {ad:g} with a "
                               "key or token").format(pw=ISOCHRONE_CAPS["public"]["walk"],
                                                      pd=ISOCHRONE_CAPS["public"]["drive"],
                                                      aw=ISOCHRONE_CAPS["authenticated"]["walk"],
                                                      ad=ISOCHRONE_CAPS["authenticated"]["drive"]),
                            "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_MINUTES}}, mode],
            "responses": {"200": {"description": "OK", "content": {"application/geo+json": {"schema": {
                "$ref": "#/components/schemas/Feature"}}}}, **errors}}},
    }

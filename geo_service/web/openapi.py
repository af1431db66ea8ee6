"""The OpenAPI 3 document of the service (``GET /api/v1/openapi.json``).

Request bodies come from the pydantic models the views validate with, so the
document cannot drift from the checks; answers are described by the schemas below.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from geo_service.lookup.service import MAX_ADDRESS_CHARS
from geo_service.version import __version__
from geo_service.web import jobs
from geo_service.web.openapi_parts import PROBLEM, ok_json, problems
from geo_service.web.security import access
from geo_service.web.views import pages, reach, routes, siting, workload
from geo_service.web.views.lookup import (
    ADDRESS_ID_PATTERN,
    AddressLookup,
    BatchBody,
    CodeLookup,
    LookupBody,
    PointLookup,
)
from geo_service.web.views.reach import MatrixBody
from geo_service.web.views.routes import PlanBody, ScheduleBody
from geo_service.web.views.siting import SitingRequest
from geo_service.web.views.workload import AppealBody, BalanceBody, StatusBody

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")


def _extra_paths() -> list[Any]:
    """Blueprints that describe their own paths."""
    return [reach.openapi_paths, siting.openapi_paths, routes.openapi_paths, pages.openapi_paths,
            workload.openapi_paths, jobs.openapi_paths]


INSPECTOR = {"type": "object", "required": ["id", "name", "rank", "phone", "reception_hours"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "rank": {"type": "string"},
    "phone": {"type": "string"}, "reception_hours": {"type": "string"}}}
POST = {"type": ["object", "null"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "address": {"type": ["string", "null"]},
    "lat": {"type": "number"}, "lon": {"type": "number"}}}
PRECINCT = {"type": "object", "required": ["id", "name", "source", "official"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "source": {"enum": ["official", "derived"]},
    "official": {"type": "boolean"}}}
TRAVEL_MODE = {"type": ["object", "null"], "properties": {
    "minutes": {"type": "number"}, "distance_m": {"type": "number"}, "off_road_m": {"type": "number"}}}
TRAVEL = {"type": ["object", "null"], "properties": {"walk": TRAVEL_MODE, "drive": TRAVEL_MODE}}
POINT_ANSWER = {"type": "object", "required": ["point", "precinct", "inspectors", "post", "on_border"], "properties": {
    "point": {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
    "precinct": {"$ref": "#/components/schemas/Precinct"},
    "inspectors": {"type": "array", "items": {"$ref": "#/components/schemas/Inspector"}},
    "post": {"$ref": "#/components/schemas/Post"},
    "on_border": {"type": "boolean",
                  "description": "the point is on a shared border; the precinct whose id sorts first was chosen"},
    "travel_to_post": {"$ref": "#/components/schemas/Travel"}}}
CANDIDATE = {"type": "object", "required": ["score", "match", "lat", "lon"], "properties": {
    "score": {"type": "number"},
    "match": {"enum": ["house", "street", "place"], "description": (
        "house: an address point of the data; street: the middle of a street (the house is unknown or "
        "was not given); place: the middle of a microdistrict")},
    "street": {"type": "string", "description": "the street as shown (one name, no OpenStreetMap ';' list)"},
    "housenumber": {"type": ["string", "null"], "description": "the house of the point (null unless match is house)"},
    "house_asked": {"type": ["string", "null"], "description": "the house number the query asked for, as typed"},
    "house_found": {"type": ["boolean", "null"], "description": (
        "true: the house asked is this point; false: it is not in the data (another number or the "
        "street's middle is shown); null: no house was asked")},
    "street_length_m": {"type": ["number", "null"], "description": "for a street's middle: how long the street is"},
    "street_precincts": {"type": ["array", "null"], "description": (
        "for a street's middle: the precincts the street crosses (from the walking graph), in id order"),
        "items": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}},
    "precinct_determined": {"type": ["boolean", "null"], "description": (
        "true for a house, or a street inside one precinct; false when the street crosses several "
        "(the street alone does not say which precinct); null when unknown")},
    "note": {"type": ["string", "null"], "description": (
        "how sure the candidate is, in English, e.g. 'house 1 not found on ул. Джандосова; the point is "
        "the street's middle (4.0 km long)'; null for the very house asked")},
    "address_id": {"type": ["string", "null"]},
    "lat": {"type": "number"}, "lon": {"type": "number"},
    "precinct": {"oneOf": [{"$ref": "#/components/schemas/Precinct"}, {"type": "null"}]},
    "inspectors": {"type": "array", "items": {"$ref": "#/components/schemas/Inspector"}},
    "post": {"$ref": "#/components/schemas/Post"}, "on_border": {"type": "boolean"},
    "travel_to_post": {"$ref": "#/components/schemas/Travel"}}}
ADDRESS_ANSWER = {"type": "object", "required": ["query", "ambiguous", "candidates"], "properties": {
    "query": {"type": "string"}, "ambiguous": {"type": "boolean"},
    "candidates": {"type": "array", "items": {"$ref": "#/components/schemas/Candidate"}}}}
CODE_ANSWER = {"type": "object", "required": ["address", "point", "precinct"], "properties": {
    "address": {"type": "object", "properties": {k: {"type": ["string", "null"]} for k in (
        "address_id", "street", "housenumber", "district", "source")}},
    "point": {"type": "object"}, "precinct": {"type": ["object", "null"]},
    "inspectors": {"type": "array"}, "post": {"type": ["object", "null"]}}}
FEATURE = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
    "type": {"const": "Feature"}, "id": {"type": "string"}, "geometry": {"type": "object"},
    "properties": {"type": "object"}}}


def _lookup_params() -> list[dict[str, Any]]:
    return [
        {"name": "lat", "in": "query", "schema": {"type": "number", "minimum": -90, "maximum": 90}},
        {"name": "lon", "in": "query", "schema": {"type": "number", "minimum": -180, "maximum": 180}},
        {"name": "address", "in": "query",
         "schema": {"type": "string", "minLength": 1, "maxLength": MAX_ADDRESS_CHARS}},
        {"name": "address_id", "in": "query", "description": "the address register's code (РКА)",
         "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": ADDRESS_ID_PATTERN}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 20}},
    ]


def document() -> dict[str, Any]:
    """Build the OpenAPI document."""
    lookup_answer = {"oneOf": [{"$ref": "#/components/schemas/PointAnswer"},
                               {"$ref": "#/components/schemas/AddressAnswer"},
                               {"$ref": "#/components/schemas/CodeAnswer"}]}
    security_public: list[dict[str, list[str]]] = [{}, {"apiKey": []}, {"bearer": []}]
    paths: dict[str, Any] = {
        "/livez": {"get": {"summary": "the process answers", "security": [{}],
                           "responses": ok_json({"type": "object"})}},
        "/readyz": {"get": {"summary": "city, bundle version and counts", "security": [{}],
                            "responses": {**ok_json({"type": "object"}), **problems(503)}}},
        "/api/v1/lookup": {
            "get": {"summary": "who covers this point or address", "parameters": _lookup_params(),
                    "security": security_public,
                    "responses": {**ok_json(lookup_answer), **problems(400, 404, 422, 429, 503)}},
            "post": {"summary": "the same with the query in a JSON body", "security": security_public,
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"oneOf": [{"$ref": "#/components/schemas/PointLookup"},
                                              {"$ref": "#/components/schemas/AddressLookup"},
                                              {"$ref": "#/components/schemas/CodeLookup"}]}}}},
                     "responses": {**ok_json(lookup_answer), **problems(400, 404, 413, 422, 429, 503)}},
        },
        "/api/v1/lookup/batch": {"post": {
            "summary": "up to 10,000 lookups; each item gets its result or its error",
            "security": [{"apiKey": []}, {"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/BatchBody"}}}},
            "responses": {**ok_json({"type": "object", "required": ["count", "results"], "properties": {
                "count": {"type": "integer"}, "results": {"type": "array", "items": {"type": "object"}}}}),
                **problems(400, 401, 403, 413, 422, 429, 503)}}},
        "/api/v1/precincts": {"get": {
            "summary": "all precincts (GeoJSON FeatureCollection, [lon, lat])", "security": security_public,
            "responses": {**ok_json({"type": "object", "required": ["type", "features"], "properties": {
                "type": {"const": "FeatureCollection"},
                "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}}}},
                media="application/geo+json"), **problems(429, 503)}}},
        "/api/v1/precincts/{precinct_id}": {"get": {
            "summary": "one precinct with its inspectors and post", "security": security_public,
            "parameters": [{"name": "precinct_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {**ok_json({"$ref": "#/components/schemas/Feature"}, media="application/geo+json"),
                          **problems(404, 429, 503)}}},
    }
    for extra in _extra_paths():
        paths.update(extra())
    for item in paths.values():  # a body in another media type than JSON is refused with 415
        for op in item.values():
            if isinstance(op, dict) and "requestBody" in op:
                op["responses"].setdefault("415", {"description": "body not sent as application/json", "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
    schemas: dict[str, Any] = {
        "Problem": PROBLEM, "Inspector": INSPECTOR, "Post": POST, "Precinct": PRECINCT, "Travel": TRAVEL,
        "PointAnswer": POINT_ANSWER, "Candidate": CANDIDATE, "AddressAnswer": ADDRESS_ANSWER,
        "CodeAnswer": CODE_ANSWER, "Feature": FEATURE,
    }
    for model in (LookupBody, PointLookup, AddressLookup, CodeLookup, BatchBody, MatrixBody, SitingRequest, PlanBody,
                  ScheduleBody, BalanceBody, AppealBody, StatusBody):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return {
        "openapi": "3.1.0",
        "info": {"title": "geo-service: district police inspectors' geospatial service", "version": __version__,
                 "description": "Which inspector covers an address; precincts; routes; siting. "
                                "Map data © OpenStreetMap contributors."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "bearer": {"type": "http", "scheme": "bearer"}}},
    }


@bp.get("/openapi.json")
@access("public")
def openapi_json() -> Response:
    """The OpenAPI 3 document."""
    return jsonify(document())

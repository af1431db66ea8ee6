"""Address and point to precinct, inspector and post; the precincts themselves."""

from __future__ import annotations

from typing import Any, Union

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from geo_service.errors import InputError
from geo_service.lookup.encoded import EncodedAnswer
from geo_service.lookup.service import ADDRESS_ID, MAX_ADDRESS_CHARS, MAX_BATCH
from geo_service.web.context import lookup_service
from geo_service.web.security import access
from geo_service.web.static_assets import preferred_coding
from geo_service.web.validation import parse_json_body, reject_unknown_args, validate_body

bp = Blueprint("lookup", __name__, url_prefix="/api/v1")
#: The register code as a JSON-Schema pattern (anchored).
ADDRESS_ID_PATTERN = f"^{ADDRESS_ID.pattern}$"


class LookupBody(BaseModel):
    """One lookup: either ``address`` or ``lat`` and ``lon`` (query parameters of GET)."""

    model_config = ConfigDict(extra="forbid")
    lat: float | None = Field(default=None, ge=-90, le=90, description="latitude, decimal degrees (WGS84)")
    lon: float | None = Field(default=None, ge=-180, le=180, description="longitude, decimal degrees (WGS84)")
    address: str | None = Field(default=None, min_length=1, max_length=MAX_ADDRESS_CHARS,
                                description="address text in Kazakh, Russian or Latin letters")
    address_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=ADDRESS_ID_PATTERN,
                                   description="the address register's code of a building (РКА)")
    limit: int = Field(default=5, ge=1, le=20, description="most candidates for an address")


class PointLookup(BaseModel):
    """A lookup by coordinates."""

    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90, description="latitude, decimal degrees (WGS84)")
    lon: float = Field(ge=-180, le=180, description="longitude, decimal degrees (WGS84)")


class AddressLookup(BaseModel):
    """A lookup by address text."""

    model_config = ConfigDict(extra="forbid")
    address: str = Field(min_length=1, max_length=MAX_ADDRESS_CHARS,
                         description="address text in Kazakh, Russian or Latin letters")
    limit: int = Field(default=5, ge=1, le=20, description="most candidates")


class CodeLookup(BaseModel):
    """A lookup by the address register's code."""

    model_config = ConfigDict(extra="forbid")
    address_id: str = Field(min_length=1, max_length=64, pattern=ADDRESS_ID_PATTERN,
                            description="the address register's code (РКА)")


LOOKUP_POST = TypeAdapter(Union[PointLookup, AddressLookup, CodeLookup])  # noqa: UP007 - a runtime union for pydantic


class BatchBody(BaseModel):
    """Up to 10,000 lookups; each item is checked on its own and gets its own result or error."""

    model_config = ConfigDict(extra="forbid")
    items: list[dict[str, Any]] = Field(max_length=MAX_BATCH,
                                        description="items: {id?, lat, lon}, {id?, address} or {id?, address_id}")


def _answer(body: LookupBody) -> dict[str, Any]:
    service = lookup_service()
    given = [f for f in ("address", "address_id") if getattr(body, f) is not None]
    if given:
        if len(given) > 1 or body.lat is not None or body.lon is not None:
            msg = "give one of address, address_id, or lat and lon"
            raise InputError(msg)
        if body.address_id is not None:
            return service.by_address_id(body.address_id)
        return service.by_address(body.address or "", limit=body.limit)
    if body.lat is None or body.lon is None:
        msg = "give lat and lon, address, or address_id"
        raise InputError(msg)
    return service.by_point(body.lat, body.lon)


@bp.get("/lookup")
@access("public")
def lookup_get() -> Response:
    """Who covers this point, address or register code (query parameters lat & lon, address, or address_id)."""
    args = request.args
    names = ("lat", "lon", "address", "address_id", "limit")
    reject_unknown_args(*names)
    data: dict[str, Any] = {k: args[k] for k in names if k in args}
    return jsonify(_answer(validate_body(LookupBody, data)))


@bp.post("/lookup")
@access("public")
def lookup_post() -> Response:
    """The same as GET, with the query in a JSON body (keeps addresses out of URLs and logs)."""
    body = validate_body(LOOKUP_POST, parse_json_body())
    return jsonify(_answer(LookupBody(**body.model_dump())))


@bp.post("/lookup/batch")
@access("external_system")
def lookup_batch() -> Response:
    """Many lookups in one request (coordinates computed vectorised)."""
    body = validate_body(BatchBody, parse_json_body())
    results = lookup_service().batch(body.items)
    return jsonify({"count": len(results), "results": results})


@bp.get("/precincts")
@access("public")
def precincts() -> Response:
    """All precincts as a GeoJSON FeatureCollection (RFC 7946, [lon, lat]).

    Encoded once per loaded city (`Lookup.precincts_answer`) and sent as it is, brotli or gzip
    compressed once too; a strong ETag (the bytes' SHA-256) answers ``If-None-Match`` with 304.
    """
    return _send_encoded(lookup_service().precincts_answer(), "application/geo+json")


def _send_encoded(answer: EncodedAnswer, mimetype: str) -> Response:
    """An answer encoded once: its compressed copy when the client takes one (``Content-Encoding``
    set here, so Flask-Compress leaves it), that coding's ETag, 304 when the client has it."""
    encoding = preferred_coding(answer.br, answer.gzip)
    tag = answer.etag(encoding)
    resp = Response(status=200, mimetype=mimetype)
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = "no-cache"  # kept, and revalidated by its ETag
    resp.vary.add("Accept-Encoding")
    if request.if_none_match.contains_weak(tag):  # RFC 9110: If-None-Match compares weakly
        resp.status_code = 304
        return resp
    if encoding is not None:
        resp.headers["Content-Encoding"] = encoding
    resp.set_data(answer.coded(encoding))
    return resp


@bp.get("/precincts/<precinct_id>")
@access("public")
def precinct(precinct_id: str) -> Response:
    """One precinct as a GeoJSON Feature with its inspectors and post."""
    service = lookup_service()
    resp = jsonify(service.precinct_feature(service.index_of(precinct_id)))
    resp.mimetype = "application/geo+json"
    return resp

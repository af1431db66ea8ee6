"""Request-scoped services for the views, from one leaf: the loaded city, the lookup, the appeals
store, and the problem+json response (Flask's flaskr `get_db` pattern)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app, g, jsonify

from geo_service.bundle import CityBundle
from geo_service.errors import NotReady
from geo_service.lookup.service import Lookup

if TYPE_CHECKING:
    from geo_service.appeals.store import AppealStore
    from geo_service.store import Store

PROBLEM_JSON = "application/problem+json"

EXTENSION = "geo_service"


def get_city() -> CityBundle:
    """The city loaded for this process; 503 problem when none is."""
    # One request sees one city, even when a reload swaps it meanwhile.
    city = g.get("_gs_city") or current_app.extensions.get(EXTENSION)
    if city is None:
        msg = "no city bundle is loaded; set GEO_SERVICE_BUNDLE or pass --bundle"
        raise NotReady(msg)
    g._gs_city = city
    return city


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """An RFC 9457 problem response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    resp = jsonify(body)
    resp.status_code = status
    resp.mimetype = PROBLEM_JSON
    return resp


def lookup_service() -> Lookup:
    """The lookup of the city this request sees."""
    city = get_city()
    return city.cached("lookup", lambda: Lookup(city))


def appeal_store() -> AppealStore:
    """The appeals of the city this request sees (tables in the service's store)."""
    from geo_service.appeals.store import AppealStore  # noqa: PLC0415 - SQLAlchemy loads with the store

    city = get_city()
    store = get_store()
    tz = current_app.config.get("TIME_ZONE") or "UTC"
    return city.cached(f"appeals:{id(store)}:{tz}", lambda: AppealStore(store, city=city, tz=tz))


STORE_EXT = "geo_service.store"


def get_store(app: Flask | None = None) -> Store:
    """The service's store (`geo_service.web.security.LazyStore`: opened on first use)."""
    return (app or current_app).extensions[STORE_EXT]

"""The Flask application: settings, the loaded city, error rendering, blueprints."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, jsonify
from werkzeug.exceptions import HTTPException

from geo_service.bundle import CityBundle, load_bundle
from geo_service.config import load_config
from geo_service.errors import GeoServiceError, NotReady

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
EXTENSION = "geo_service"


def make_app(config: Mapping[str, Any] | None = None) -> Flask:
    """See `geo_service.create_app`."""
    settings = load_config(config)
    app = Flask("geo_service", static_folder=str(Path(__file__).parent.parent / "static"), static_url_path="/static")
    app.config.update(settings)
    city = settings.get("CITY")
    if city is None and settings.get("BUNDLE"):
        city = load_bundle(settings["BUNDLE"])
    app.extensions[EXTENSION] = city
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    _register_errors(app)
    from geo_service.web.views.health import bp as health_bp
    from geo_service.web.views.lookup import bp as lookup_bp
    from geo_service.web.openapi import bp as openapi_bp
    from geo_service.web.views.pages import bp as pages_bp
    from geo_service.web.views.reach import bp as reach_bp
    from geo_service.web.views.routes import bp as routes_bp
    from geo_service.web.views.siting import bp as siting_bp
    from geo_service.web.views.workload import bp as workload_bp

    for bp in (health_bp, lookup_bp, openapi_bp, reach_bp, siting_bp, routes_bp, pages_bp, workload_bp):
        app.register_blueprint(bp)
    from geo_service.web.security import init_security

    init_security(app)
    return app


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


def _register_errors(app: Flask) -> None:
    @app.errorhandler(GeoServiceError)
    def _service_error(exc: GeoServiceError) -> Response:
        if exc.status >= 500:
            logger.error("%s: %s", type(exc).__name__, exc)
        doc = exc.to_problem()
        return problem(doc.pop("status"), doc.pop("title"), doc.pop("detail"),
                       **{k: v for k, v in doc.items() if k != "type"})

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        resp = problem(exc.code or 500, exc.name, exc.description or exc.name)
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            resp.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return problem(500, "Internal error", "the service failed to answer; the error is logged")

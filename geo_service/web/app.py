"""The Flask application: settings, the loaded city, error rendering, blueprints."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from geo_service.bundle import load_bundle
from geo_service.config import load_config
from geo_service.errors import GeoServiceError, storage_fault
from geo_service.web.context import EXTENSION, problem
from geo_service.web.jobs import bp as jobs_bp
from geo_service.web.openapi import bp as openapi_bp
from geo_service.web.security import init_security
from geo_service.web.static_assets import init_static
from geo_service.web.views import (  # noqa: F401 - their routes join pages_bp
    balance_page,
    map_pages,
    planner_pages,
    public_pages,
    session,
)
from geo_service.web.views.admin import bp as admin_bp
from geo_service.web.views.admin import init_reload
from geo_service.web.views.health import bp as health_bp
from geo_service.web.views.lookup import bp as lookup_bp
from geo_service.web.views.pages import bp as pages_bp
from geo_service.web.views.reach import bp as reach_bp
from geo_service.web.views.routes import bp as routes_bp
from geo_service.web.views.siting import bp as siting_bp
from geo_service.web.views.workload import bp as workload_bp

logger = logging.getLogger(__name__)


def make_app(config: Mapping[str, Any] | None = None) -> Flask:
    """See `geo_service.create_app`."""
    settings = load_config(config)
    app = Flask("geo_service", static_folder=str(Path(__file__).parent.parent / "static"), static_url_path="/static")
    app.config.update(settings)
    city = settings.get("CITY")
    if city is None and settings.get("BUNDLE"):
        city = load_bundle(settings["BUNDLE"])
    app.extensions[EXTENSION] = city
    # The city lives in the extension only: a copy in the config kept the first city alive after
    # every reload (a second country's worth of memory in each process).
    app.config.pop("CITY", None)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    # The base map's tiles are static data, like /static: a page asks for a dozen at once.
    exempt = str(app.config.get("RATELIMIT_EXEMPT") or "")
    app.config["RATELIMIT_EXEMPT"] = ",".join(e for e in (exempt, "pages.tiles") if e)
    init_static(app)  # hashed, compressed static files; compressed answers (before the security headers)
    _register_errors(app)
    for bp in (health_bp, lookup_bp, openapi_bp, reach_bp, siting_bp, routes_bp, pages_bp, workload_bp, jobs_bp):
        app.register_blueprint(bp)
    init_security(app)  # before-request hooks: deny-undeclared, then the limiter
    app.register_blueprint(admin_bp)
    init_reload(app)  # then the reload poll
    return app


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
        fault = storage_fault(exc)  # a full or read-only disk: the store's writes fail, reads still work
        if fault is not None:
            logger.error("storage full or read-only, answered 503: %s", fault.detail)
            resp = problem(fault.status, fault.title, fault.user_message)
            resp.headers["Retry-After"] = "60"
            return resp
        logger.exception("unhandled error")
        return problem(500, "Internal error", "the service failed to answer; the error is logged")

"""Liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from geo_service.web.context import get_city
from geo_service.web.security import access

bp = Blueprint("health", __name__)


@bp.get("/livez")
@access("public")
def livez() -> Response:
    """The process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
@access("public")
def readyz() -> Response:
    """A city is loaded: its name, bundle version and counts (503 when none is)."""
    city = get_city()
    body = {"status": "ready", **city.summary()}
    return jsonify(body)

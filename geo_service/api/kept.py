"""Planners' kept results (siting runs, balance proposals): keep, fetch back, JSON-safe."""

from __future__ import annotations

import math
from typing import Any

from flask import Response, jsonify

from ..errors import NotFound
from ..security import audit, current_principal, get_store


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities (an empty model's mean, an unbounded gap) as None,
    so it is valid JSON for the answer and the store."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    return value


def keep(kind: str, body: dict[str, Any], *, location: str) -> Response:
    """Keep a result (audited) and answer 201 with its id and a Location of ``location/<id>``."""
    body = json_safe(body)
    rid = get_store().save_result(kind=kind, created_by=current_principal().label, body=body)
    audit(f"{kind}.create", record_type=kind, record_id=rid, outcome="ok")
    resp = jsonify({"id": rid, **body})
    resp.status_code = 201
    resp.headers["Location"] = f"{location}/{rid}"
    return resp


def fetch(kind: str, result_id: str) -> Response:
    """A kept result of ``kind``; 404 problem when there is none."""
    kept = get_store().get_result(result_id, kind=kind)
    if kept is None:
        msg = f"no {kind} result with this id"
        raise NotFound(msg)
    return jsonify({"id": kept["id"], "created_at": kept["created_at"], **kept["body"]})

"""Pieces of the OpenAPI document the views share: the problem schema, problem responses, a JSON answer."""

from __future__ import annotations

from typing import Any

PROBLEM = {
    "type": "object",
    "required": ["title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "additionalProperties": True,
}


def problems(*codes: int) -> dict[str, Any]:
    """OpenAPI responses for these problem statuses (application/problem+json)."""
    return {str(c): {"description": desc, "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}}
        for c, desc in ((400, "bad input"), (401, "credentials missing or wrong"), (403, "role not allowed"),
                        (404, "not found"), (413, "body too large"), (422, "input not usable"),
                        (429, "rate limit reached"), (503, "no city loaded")) if c in codes}


def ok_json(schema: dict[str, Any], desc: str = "OK", media: str = "application/json") -> dict[str, Any]:
    """An OpenAPI 200 response with ``schema`` as its body in ``media``."""
    return {"200": {"description": desc, "content": {media: {"schema": schema}}}}

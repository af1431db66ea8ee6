"""One small error hierarchy.

Each error knows its HTTP status and carries a message that is safe to show to a
user (``user_message``), separate from the internal detail that goes to the log.
The API renders them as ``application/problem+json`` (RFC 9457); the CLI prints
``user_message`` on one line.
"""

from __future__ import annotations

from typing import Any


class GeoServiceError(Exception):
    """Base class of every error the service raises on purpose."""

    status: int = 500
    title: str = "Internal error"

    def __init__(self, user_message: str, *, detail: str | None = None, **extra: Any) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        #: Internal detail for the log, never shown to a client.
        self.detail = detail
        self.extra = extra

    def to_problem(self) -> dict[str, Any]:
        """Return the RFC 9457 problem document (without ``instance``)."""
        doc: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.user_message,
        }
        doc.update(self.extra)
        return doc


class InputError(GeoServiceError, ValueError):
    """The caller's input is wrong (a missing file, a bad value, a bad format)."""

    status = 400
    title = "Bad input"


class UnsupportedMediaType(InputError):
    """The body is sent in a media type the endpoint does not take."""

    status = 415
    title = "Unsupported media type"


class InputFileError(InputError):
    """An input file cannot be read or is not what it claims to be."""


class ValidationFailed(InputError):
    """Input files were read but failed validation; ``problems`` holds one line each."""

    status = 422
    title = "Validation failed"

    def __init__(self, user_message: str, *, problems: list[str]) -> None:
        super().__init__(user_message, problems=problems)
        self.problems = problems


class NotFound(GeoServiceError, LookupError):
    """The thing asked for does not exist."""

    status = 404
    title = "Not found"


class BundleError(GeoServiceError, OSError):
    """A city bundle is missing, incomplete or of an unknown version."""

    status = 503
    title = "City bundle unavailable"


class NotReady(GeoServiceError):
    """The service has no city loaded yet."""

    status = 503
    title = "Not ready"


class Unauthorized(GeoServiceError):
    """No valid credentials (401, with ``WWW-Authenticate``)."""

    status = 401
    title = "Unauthorized"

    def __init__(self, user_message: str, *, invalid: bool = False) -> None:
        super().__init__(user_message)
        self.invalid = invalid


class Forbidden(GeoServiceError, PermissionError):
    """Valid credentials, but not for this (403)."""

    status = 403
    title = "Forbidden"


class LinkRefused(Forbidden):
    """A signed link that is forged, damaged or expired."""

"""One small error hierarchy.

Each error knows its HTTP status and carries a message that is safe to show to a
user (``user_message``), separate from the internal detail that goes to the log.
The API renders them as ``application/problem+json`` (RFC 9457); the CLI prints
``user_message`` on one line.
"""

from __future__ import annotations

import errno
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


class StorageUnavailable(GeoServiceError):
    """The store cannot write: its disk is full or read-only (503; nothing kept is lost)."""

    status = 503
    title = "Storage unavailable"


#: How a full or read-only disk shows in SQLite's, PostgreSQL's and the system's messages.
_STORAGE_MESSAGES = ("database or disk is full", "readonly database", "read-only database",
                     "no space left on device", "read-only file system", "disk quota exceeded",
                     "unable to open database file")  # SQLite's WAL on a read-only disk cannot even be read
#: SQLSTATE disk_full, read_only_sql_transaction (a standby, or default_transaction_read_only).
_STORAGE_SQLSTATES = frozenset({"53100", "25006"})
_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT})


def storage_fault(exc: BaseException) -> StorageUnavailable | None:
    """The 503 to answer when ``exc`` (or an error it wraps) is a full or read-only disk.

    Looks through the chain (``__cause__``, ``__context__`` and a database driver's
    ``orig``) for an `OSError` ENOSPC/EROFS/EDQUOT, a PostgreSQL SQLSTATE 53100/25006, or
    SQLite's "database or disk is full", "attempt to write a readonly database" or "unable to
    open database file" (a WAL database on a read-only disk).
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 20:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        text = str(e).lower()
        if ((isinstance(e, OSError) and e.errno in _STORAGE_ERRNOS)
                or {getattr(e, "sqlstate", None), getattr(e, "pgcode", None)} & _STORAGE_SQLSTATES
                or any(m in text for m in _STORAGE_MESSAGES)):
            return StorageUnavailable(
                "the service cannot use its storage: the disk is full or read-only. Nothing was changed by "
                "this request and everything kept before is safe; try again later", detail=f"{type(e).__name__}: {e}")
        orig = getattr(e, "orig", None)
        todo += [e.__cause__, e.__context__, orig if isinstance(orig, BaseException) else None]
    return None


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

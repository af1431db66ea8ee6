"""No route link token in the access log.

A route page link (``/r/<link id>.<secret>``) is a bearer credential: whoever has the URL
opens the plan. Gunicorn's access log (logger ``gunicorn.access``, the request's atoms as
the record's arguments) and werkzeug's development server (logger ``werkzeug``, the
request line as an argument) would write it out. `LinkMaskFilter` rewrites every
``/r/...`` path in a record to ``/r/<link id>.***`` (the id alone names the link, for
revoking it, and opens nothing), or ``/r/***`` when the path holds no link id.
"""

from __future__ import annotations

import logging
import re
from typing import Any

#: ``/r/`` and what follows up to the next ``/``, ``?``, ``#``, quote or space.
_LINK_PATH = re.compile(r"/r/([^/?#\s\"']*)")
_LINK_ID = re.compile(r"^rl_[0-9a-f]{16}$")

#: The loggers that write request paths.
ACCESS_LOGGERS = ("gunicorn.access", "werkzeug")


def _mask_one(m: re.Match[str]) -> str:
    head = m.group(1).split(".", 1)[0]
    return f"/r/{head}.***" if _LINK_ID.match(head) else "/r/***"


def mask_links(text: str) -> str:
    """``text`` with every route link's token masked."""
    return _LINK_PATH.sub(_mask_one, text) if "/r/" in text else text


def _mask(value: Any) -> Any:
    return mask_links(value) if isinstance(value, str) else value


class LinkMaskFilter(logging.Filter):
    """Masks route link tokens in a record's message and arguments (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_links(record.msg)
        if isinstance(record.args, dict):  # gunicorn's atoms: changed in place (a dict subclass)
            for k, v in list(record.args.items()):
                if isinstance(v, str) and "/r/" in v:
                    record.args[k] = mask_links(v)
        elif isinstance(record.args, tuple):
            record.args = tuple(_mask(v) for v in record.args)
        return True


def install_link_mask() -> None:
    """Add `LinkMaskFilter` to the access loggers (once each)."""
    for name in ACCESS_LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(f, LinkMaskFilter) for f in log.filters):
            log.addFilter(LinkMaskFilter())


__all__ = ["ACCESS_LOGGERS", "LinkMaskFilter", "install_link_mask", "mask_links"]

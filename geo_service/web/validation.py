"""Request parsing, one kit for every view: the JSON body, pydantic models, query arguments,
modes, points, periods, and the date and time field types (2000-01-01 to 2100-12-31)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any

from flask import current_app, request
from pydantic import AfterValidator, BaseModel, TypeAdapter, ValidationError

from geo_service import clock
from geo_service.errors import InputError, UnsupportedMediaType
from geo_service.lookup.service import check_point
from geo_service.siting.request import LatLon  # a request's (lat, lon); defined with the siting body

__all__ = ["MAX_JSON_INTEGER", "SURROGATE", "Day", "LatLon", "Moment", "bounded_text", "check_day_field", "check_mode",
           "check_moment_field", "json_depth_ok", "parse_json_body", "parse_latlon", "parse_period",
           "refuse_constant", "reject_unknown_args", "unusable_value_at", "validate_body"]


def json_depth_ok(obj: Any, max_depth: int) -> bool:
    """Whether ``obj`` nests no deeper than ``max_depth`` (iterative)."""
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, dict):
            if d > max_depth:
                return False
            stack.extend((v, d + 1) for v in o.values())
        elif isinstance(o, list):
            if d > max_depth:
                return False
            stack.extend((v, d + 1) for v in o)
    return True


def refuse_constant(name: str) -> Any:
    """``json.loads``' parse_constant: NaN and Infinity are refused (400), not read as floats."""
    msg = f"{name} is not a number JSON allows"
    raise InputError(msg)


def parse_json_body(*, max_depth: int = 20, max_bytes: int | None = None) -> dict[str, Any]:
    """The request body as a JSON object, checked; `InputError` (400) otherwise.

    Only ``json.loads`` reads it (nothing a client sends is ever evaluated); NaN and
    Infinity are refused, as are lone surrogates (text no database or page can keep);
    another media type than JSON is a 415; size is limited by ``max_bytes`` (default:
    MAX_CONTENT_LENGTH). The body is read whole before any refusal, so the connection
    stays usable for the client's next request.
    """
    limit = max_bytes if max_bytes is not None else (current_app.config.get("MAX_CONTENT_LENGTH") or 2 * 2**20)
    if request.content_length is not None and request.content_length > limit:
        msg = f"the body is larger than {limit} bytes"
        raise InputError(msg)
    raw = request.get_data(cache=True)
    mimetype = request.mimetype or ""
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType("send the body as application/json")
    if len(raw) > limit:
        msg = f"the body is larger than {limit} bytes"
        raise InputError(msg)
    if not raw.strip():
        raise InputError("the body is empty; send a JSON object")
    try:
        doc = json.loads(raw, parse_constant=refuse_constant)
    except RecursionError as exc:
        msg = f"the JSON nests deeper than {max_depth} levels"
        raise InputError(msg) from exc
    except UnicodeDecodeError as exc:
        msg = "the body is not valid UTF-8"
        raise InputError(msg) from exc
    except ValueError as exc:
        msg = "the body is not valid JSON"
        raise InputError(msg) from exc
    if not isinstance(doc, dict):
        raise InputError("the body must be a JSON object")
    if not json_depth_ok(doc, max_depth):
        msg = f"the JSON nests deeper than {max_depth} levels"
        raise InputError(msg)
    bad = unusable_value_at(doc, "")
    if bad is not None:
        where, why = bad
        msg = f"{where or 'body'}: {why}"
        raise InputError(msg, field=where)
    return doc

SURROGATE = re.compile("[\ud800-\udfff]")


#: The largest integer a JSON number may hold here: beyond 2**53 a float (a coordinate, a number of
#: seconds, a score) cannot hold it exactly, and Python's float() of a 400-digit integer overflows.
MAX_JSON_INTEGER = 2**53


def unusable_value_at(value: Any, path: str) -> tuple[str, str] | None:
    """The path (``items[0].id``) of the first key or value no store or page can keep, with the
    reason: text with a lone surrogate, or an integer beyond `MAX_JSON_INTEGER`. None if all is usable."""
    if isinstance(value, str):
        return (path, "the text holds a lone surrogate (\\ud800-\\udfff), which is not a character"
                ) if SURROGATE.search(value) else None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_JSON_INTEGER:
        return path, f"the number is too large (at most {MAX_JSON_INTEGER:,} in magnitude)"
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else str(k)
            if SURROGATE.search(k):
                return path, "a key holds a lone surrogate (\\ud800-\\udfff), which is not a character"
            found = unusable_value_at(v, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for n, v in enumerate(value):
            found = unusable_value_at(v, f"{path}[{n}]")
            if found is not None:
                return found
    return None


def bounded_text(value: Any, what: str, *, max_len: int = 200, required: bool = True) -> str | None:
    """A text field: a string of at most ``max_len`` characters without control characters."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_len:
        msg = f"{what} must be a text of 1 to {max_len} characters"
        raise InputError(msg)
    if any(ord(c) < 32 and c not in "\t" for c in value):
        msg = f"{what} must not contain control characters"
        raise InputError(msg)
    return value.strip()


def validate_body(cls: type[BaseModel] | TypeAdapter[Any], data: Any) -> Any:
    """``data`` validated by a pydantic model or adapter; `InputError` (400) naming the first
    bad field, with up to 20 ``errors`` (field, message)."""
    try:
        if isinstance(cls, TypeAdapter):
            return cls.validate_python(data)
        return cls.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"].removeprefix("Value error, ")}
                  for e in exc.errors()[:20]]
        first = errors[0] if errors else {"field": "", "message": "invalid"}
        msg = f"{first['field'] or 'body'}: {first['message']}"
        raise InputError(msg, errors=errors) from None


def check_mode(value: str | None) -> str:
    """A travel mode argument: ``walk`` (the default) or ``drive``."""
    mode = value or "walk"
    if mode not in ("walk", "drive"):
        msg = "mode must be walk or drive"
        raise InputError(msg)
    return mode


def parse_latlon(text: str | None, what: str) -> tuple[float, float]:
    """A ``lat,lon`` query argument as a checked point (`InputError` naming ``what``)."""
    if not text or text.count(",") != 1:
        msg = f"{what} must be lat,lon in decimal degrees"
        raise InputError(msg)
    lat, lon = text.split(",")
    return check_point(lat.strip(), lon.strip())


def reject_unknown_args(*names: str) -> None:
    """Refuse (400) a query parameter other than ``names``."""
    unknown = set(request.args) - set(names)
    if unknown:
        msg = f"unknown parameter(s): {', '.join(sorted(unknown))}"
        raise InputError(msg)


def parse_period() -> tuple[dt.datetime | None, dt.datetime | None]:
    """The ``from`` and ``to`` query dates as UTC midnights (None when absent)."""
    out: list[dt.datetime | None] = []
    for name in ("from", "to"):
        value = request.args.get(name)
        if value is None:
            out.append(None)
            continue
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            msg = f"{name} must be a date like 2026-11-01"
            raise InputError(msg) from None
        clock.check_day(day, name)
        out.append(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC))
    return out[0], out[1]


def check_day_field(value: dt.date) -> dt.date:
    """pydantic validator of `Day`: the date within the calendar the service accepts."""
    return clock.check_day(value, "the value")


def check_moment_field(value: dt.datetime) -> dt.datetime:
    """pydantic validator of `Moment`: the date-time's date within the accepted calendar."""
    return clock.check_moment(value, "the value")


#: A calendar date from `clock.FIRST_DAY` to `clock.LAST_DAY`.
Day = Annotated[dt.date, AfterValidator(check_day_field)]

#: A date-time whose date lies from `clock.FIRST_DAY` to `clock.LAST_DAY`.
Moment = Annotated[dt.datetime, AfterValidator(check_moment_field)]

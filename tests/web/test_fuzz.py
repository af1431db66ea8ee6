"""Hostile input against a real HTTP server: no 5xx, no dropped connection, no answer of 5 s or more.

The service runs in this process under werkzeug's threaded server on 127.0.0.1 (a real socket,
so a dropped or broken connection is seen, which the Flask test client hides); every request
goes out with `http.client` on a connection of its own. About 10,000 cases over every
documented operation (``OPERATIONS`` of test_schemathesis.py) and the admin ones:

- schemathesis, positive and negative data (``GenerationMode.NEGATIVE``), for each operation;
- each string of a valid request (body fields, query and path parameters, CSV cells) replaced
  in turn by each hostile string (template syntax, markup, ``&``, ``javascript:``, RTL and
  zero-width characters, 10,000-character texts, lone surrogates sent as ``\\ud800`` escapes,
  out-of-range dates and times), and each number by raw JSON tokens (NaN, Infinity, 1e400,
  5,000 digits);
- hypothesis mixing several of those at once, around the original values, with hostile keys
  and parameter names, as escaped or raw UTF-8 (invalid UTF-8 where a surrogate cannot be
  encoded);
- every POST body sent wrongly (text/plain, no Content-Type, form data, multipart, UTF-16,
  invalid UTF-8 bytes, BOM, empty, not an object, deep nesting, chunked, too large, ...), and
  hostile Authorization / X-API-Key / Accept-Language / Host headers on every operation.

The test prints one line the CI log shows (``fuzz: N cases over M operations, K server errors,
D dropped, slowest X s``) and, when a case fails, each distinct failure (operation, kind, the
exception the server logged) with its smallest request, shrunk further while it still fails.
``benchmarks/fuzz_api.py`` runs the same fuzz with ``--cases N``. Deterministic: a fixed seed
per generator, no example database.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import dataclasses
import functools
import gzip
import http.client
import io
import json
import logging
import math
import re
import threading
import time
import traceback
import urllib.parse
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from tests.web.test_schemathesis import OPERATIONS  # noqa: E402

#: Operations outside the OpenAPI document (the admin blueprint), fuzzed with the hostile strings.
ADMIN_OPERATIONS = [("POST", "/admin/keys"), ("GET", "/admin/keys"), ("DELETE", "/admin/keys/{key_id}"),
                    ("POST", "/admin/reload")]
ALL_OPERATIONS = [*OPERATIONS, *ADMIN_OPERATIONS]
DEFAULT_CASES = 10_000
SLOW_S = 5.0  #: an answer this late fails the case
TIMEOUT_S = 30.0  #: the client gives up (and counts the case as dropped) after this long

# -- hostile values -------------------------------------------------------------------------

LONG_ASCII = "A" * 10_000
LONG_MIXED = ("Абай даңғылы 150 🚓 \u202e\u200b " * 500)[:10_000]

HOSTILE_STRINGS: tuple[str, ...] = (
    "{{7*7}}", "{% raw %}", "{#", "{{ config.items() }}", "${7*7}", "<%= 7*7 %>",
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "&", "&amp;lt;", "javascript:alert(1)",
    "\u202eevil\u202c", "a\u200bb", "\u200b", "\ufeff", "\u2028\u2029",
    LONG_ASCII, LONG_MIXED,
    "\ud800", "\udfff", "x\udfff\ud800y",  # lone surrogates (sent as \\u escapes, or as invalid UTF-8)
    "", " ", "\t", "\x00", "\x7f", "'; DROP TABLE credentials; --", "../../../../etc/passwd", "%00", "%s%n%x",
    "\\", "null", "🚓", "e\u0301" * 60, "\U0010ffff", "=cmd|' /C calc'!A0",
)
HOSTILE_DATES: tuple[str, ...] = (
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01", "9999-12-31", "9999-12",
    "0000-00-00", "2026-02-30", "2026-13-01", "-0001-01-01", "+275760-09-13T00:00:00Z", "10000-01-01",
    "2026-01-01T24:00:00+06:00", "2026-01-01T00:00:00+99:99", "2026-01-01T00:00:00.9999999999Z", "1e400",
)
HOSTILE_TIMES: tuple[str, ...] = ("24:00", "23:60", "99:99", "-1:00", "00:00:60", "9:5", "00:00+14:00")
#: Raw JSON text put where a number stands (some are not JSON at all).
RAW_NUMBERS: tuple[str, ...] = (
    "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-0", "1" + "0" * 400, "-" + "9" * 5000,
    "123456789012345678901234567890.5", "1E+2", "0x10", "01", ".5", "+1",
)
#: Short pieces hypothesis strings together.
FRAGMENTS: tuple[str, ...] = (
    "{{", "}}", "{%", "%}", "{#", "<", ">", '"', "'", "&", "\\", "\ud800", "\udc00", "\u202e", "\u200b",
    "\x00", "\n", "javascript:", "P-01", "UI-1", "150", "Абая", "..", "/", "%", "=", ";", "\U0001f693",
)
INVALID_UTF8: tuple[bytes, ...] = (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80",
                                   b"\x80", b"\xfe\xff")

_DATE_RE = re.compile(r"^\d{4}-\d{2}(-\d{2})?(T.*)?$")
_TIME_RE = re.compile(r"^\d{2}:\d{2}$")
_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")


class Raw(str):
    """JSON text put into a body as it is (NaN, 1e400, ...), where a number stands."""


# -- requests on the wire -------------------------------------------------------------------

@dataclass(frozen=True)
class Wire:
    """One request exactly as sent."""

    op: str  #: "POST /api/v1/lookup/batch", the operation it aims at
    source: str  #: which generator made it
    method: str
    target: str  #: path and query, percent-encoded
    headers: tuple[tuple[str, bytes], ...]
    body: bytes | None = None
    chunked: bool = False
    note: str = ""  #: what was spoiled, for the report

    def size(self) -> int:
        return len(self.target) + len(self.body or b"") + sum(len(k) + len(v) for k, v in self.headers)


@dataclass(frozen=True)
class Outcome:
    status: int | None
    seconds: float
    error: str | None  #: why no answer came (dropped, broken, too late)
    title: str | None = None  #: the problem title of a 5xx answer


def send(port: int, wire: Wire, *, timeout: float = TIMEOUT_S) -> Outcome:
    """Send ``wire`` on a new connection and read the whole answer.

    One connection per request: werkzeug's server closes each after its answer anyway, and a
    failure is then the request's own, not left over from the one before."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.perf_counter()
    status = title = error = None
    try:
        names = {k.lower() for k, _ in wire.headers}
        conn.putrequest(wire.method, wire.target, skip_host="host" in names, skip_accept_encoding=True)
        for name, value in wire.headers:
            conn.putheader(name, value)
        if wire.chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        elif wire.body is not None and "content-length" not in names:
            conn.putheader("Content-Length", str(len(wire.body)))
        conn.endheaders()
        if wire.body is not None:
            payload = wire.body
            if wire.chunked:
                parts = [payload[i:i + 1000] for i in range(0, len(payload), 1000)]
                payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
            # The server may answer before it reads the whole body: the answer decides.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                conn.send(payload)
        resp = conn.getresponse()
        data = resp.read()
        status = resp.status
        if status >= 500:
            try:
                title = json.loads(data).get("title")
            except (ValueError, AttributeError):
                title = None
    except TimeoutError:
        error = f"no answer within {timeout:.0f} s"
    except (http.client.HTTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    return Outcome(status, time.perf_counter() - t0, error, title)


# -- the server and its log -----------------------------------------------------------------

class ServerLog(logging.Handler):
    """The ERROR records the server writes (service loggers, Flask, werkzeug), one line each."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self._lines: list[str] = []
        self._mutex = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.ERROR:
            return
        if record.name == "werkzeug" and record.getMessage().startswith("code 4"):
            return  # werkzeug refusing a malformed request (400, 414, 431): the client's fault, answered
        try:
            line = describe_record(record)
        except Exception:  # noqa: BLE001 - the log must never fail a request
            line = f"{record.name}: (unprintable record)"
        with self._mutex:
            self._lines.append(line)

    def take(self) -> list[str]:
        with self._mutex:
            out, self._lines = self._lines, []
        return out


def _where(frames: list[tuple[str, int, str]]) -> str:
    """The innermost frame in the service's code, and the innermost one when it is elsewhere."""
    def short(f: tuple[str, int, str]) -> str:
        path = f[0].replace("\\", "/")
        for root in ("/geo_service/", "/site-packages/", "/lib/python3"):
            if root in path:
                path = path.split(root, 1)[1] if root != "/geo_service/" else "geo_service/" + path.split(root, 1)[1]
                break
        return f"{path}:{f[1]} in {f[2]}"

    ours = [f for f in frames if "/geo_service/" in f[0].replace("\\", "/")]
    if not frames:
        return ""
    if ours and ours[-1] != frames[-1]:
        return f"{short(ours[-1])} (raised in {short(frames[-1])})"
    return short(frames[-1])


def describe_record(record: logging.LogRecord) -> str:
    msg = record.getMessage()
    head = msg.splitlines()[0] if msg else ""
    exc = where = ""
    if record.exc_info and record.exc_info[1] is not None:
        e = record.exc_info[1]
        exc = traceback.format_exception_only(type(e), e)[-1].strip()
        where = _where([(f.filename, f.lineno or 0, f.name) for f in traceback.extract_tb(e.__traceback__)])
    elif "Traceback (most recent call last)" in msg:  # werkzeug: "Error on request:\n<traceback>"
        lines = [ln.strip() for ln in msg.splitlines() if ln.strip()]
        exc = lines[-1]
        where = _where([(f, int(n), fn) for f, n, fn in re.findall(r'File "([^"]+)", line (\d+), in (\S+)', msg)])
    out = f"{record.name}: {head}"
    if exc:
        out += f" -- {exc[:300]}"
    if where:
        out += f" at {where}"
    return out


def _error_key(line: str) -> str:
    """A log line without the parts that vary between cases of one failure (the message)."""
    exc = line.split(" -- ", 1)[1] if " -- " in line else line
    etype = exc.split(":", 1)[0]
    where = exc.split(" at ", 1)[1] if " at " in exc else ""
    return f"{etype} at {where}" if where else etype[:120]


@contextmanager
def serving(app: Any) -> Iterator[int]:
    """The app under werkzeug's threaded server on 127.0.0.1:<free port>; yields the port."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="fuzz-server", daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


# -- the app under test ---------------------------------------------------------------------

def build_app(workdir: Path) -> tuple[Any, str, Path]:
    """The tiny city (two precincts, a roster) served with rate limits out of the way; an admin token."""
    from geo_service import create_app
    from geo_service.ingest.build import BuildOptions, build_city
    from geo_service.web.context import STORE_EXT
    from tests.conftest import TWO_PRECINCTS, grid_latlon, polygon, tiny_city_xml

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "tiny.osm").write_text(tiny_city_xml(), encoding="utf-8")
    feats = [{"type": "Feature", "properties": {"precinct_id": k, "name": f"Участок {k}"},
              "geometry": {"type": "Polygon", "coordinates": polygon(*v)}} for k, v in TWO_PRECINCTS.items()]
    (workdir / "p.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    post = grid_latlon(0.3, 0.3)
    (workdir / "roster.csv").write_text(
        "inspector_id,precinct_id,inspector_name,rank,phone,reception_hours,post_lat,post_lon,post_address\n"
        f'"UI-1","P-01","Серік Ахметов","майор полиции","+7 727 000 0001","Вт/Чт 17:00-20:00",'
        f'"{post[0]:.6f}","{post[1]:.6f}","Абая 150"\n'
        '"UI-2","P-02","Айгүл Сейітова","капитан полиции","+7 727 000 0002","Ср/Пт 17:00-20:00","","",""\n',
        encoding="utf-8")
    bundle = workdir / "bundle"
    build_city(BuildOptions(osm=workdir / "tiny.osm", out=bundle, precincts=workdir / "p.geojson",
                            roster=workdir / "roster.csv", city="tiny"))
    # A store of its own (the default is a file in the user's data folder), under threads as in service.
    app = create_app({"BUNDLE": str(bundle), "DATABASE_URL": f"sqlite:///{workdir / 'store.db'}",
                      "RATELIMIT_PUBLIC": "1000000/minute",
                      "RATELIMIT_USER": "1000000/minute", "RATELIMIT_EXTERNAL": "1000000/minute"})
    _, token = app.extensions[STORE_EXT].create_credential(name="fuzz", role="admin", kind="user_token")
    return app, token, bundle


# -- valid requests to spoil ----------------------------------------------------------------

@dataclass
class Template:
    """A valid request of one operation; its strings and numbers are what the fuzz spoils."""

    method: str
    path: str  #: as documented, with {name} for path parameters
    params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None  #: None: no body; JSON, or rows of cells when media is text/csv
    media: str = "application/json"

    @property
    def op(self) -> str:
        return f"{self.method} {self.path}"

    def doc(self) -> dict[str, Any]:
        return {"path": dict(self.params), "query": dict(self.query), "body": copy.deepcopy(self.body)}


def templates(ids: dict[str, str], bundle: Path) -> list[Template]:
    from tests.conftest import grid_latlon, polygon

    lat, lon = grid_latlon(0.5, 0.5)
    lat2, lon2 = grid_latlon(2.5, 1.2)
    lat, lon, lat2, lon2 = (round(x, 6) for x in (lat, lon, lat2, lon2))
    visit = {"id": "v0", "lat": lat, "lon": lon, "minutes": 10, "priority": 2, "label": "подъезд 2",
             "due": "2026-12-01", "windows": [["10:00", "12:00"]]}
    by_address = {"id": "v1", "address": "Пушкина 13/1", "minutes": 10, "priority": "appeal", "label": "appeal"}
    shift = {"start": "09:00", "end": "18:00", "breaks": [["13:00", "14:00"]], "reception": ["17:00", "20:00"]}
    plan = {"plan_id": ids["plan"]}
    T = Template
    return [
        T("GET", "/livez"), T("GET", "/readyz"),
        T("GET", "/api/v1/lookup", query={"lat": str(lat), "lon": str(lon)}),
        T("GET", "/api/v1/lookup", query={"address": "Абая 150", "limit": "5"}),
        T("POST", "/api/v1/lookup", body={"lat": lat, "lon": lon}),
        T("POST", "/api/v1/lookup", body={"address": "Абай даңғылы 150", "limit": 5}),
        T("POST", "/api/v1/lookup/batch", body={"items": [{"id": "a", "lat": lat, "lon": lon},
                                                          {"id": "b", "address": "Пушкина 13/1"}]}),
        T("GET", "/api/v1/precincts"),
        T("GET", "/api/v1/precincts/{precinct_id}", params={"precinct_id": "P-01"}),
        T("GET", "/api/v1/route", query={"from": f"{lat},{lon}", "to": f"{lat2},{lon2}", "mode": "walk"}),
        T("POST", "/api/v1/matrix", body={"sources": [[lat, lon], [lat2, lon2]], "targets": [[lat2, lon2]],
                                          "mode": "walk"}),
        T("GET", "/api/v1/isochrone", query={"lat": str(lat), "lon": str(lon), "minutes": "5", "mode": "walk"}),
        T("POST", "/api/v1/siting/solve", body={
            "model": "mclp", "minutes": 2, "p": 1, "existing": "none", "candidates": "nodes",
            "demand_source": "buildings+addresses", "mode": "walk", "max_candidates": 50, "time_limit": 1,
            "region": {"type": "Polygon", "coordinates": polygon(-0.5, -0.5, 3.5, 3.6)}}),
        T("GET", "/api/v1/siting/results/{result_id}", params={"result_id": ids["siting"]}),
        T("POST", "/api/v1/siting/results/{result_id}/map", params={"result_id": ids["siting"]}),
        T("POST", "/api/v1/routes/plan", body={
            "inspector_id": "UI-1", "date": "2026-12-01", "visits": [visit, by_address], "shift": shift,
            "mode": "walk", "outside_precinct": "warn", "hotspots": [[lat2, lon2]], "save": False}),
        T("GET", "/api/v1/routes/plans/{plan_id}", params=plan),
        T("GET", "/api/v1/routes/plans/{plan_id}/gpx", params=plan),
        T("GET", "/api/v1/routes/plans/{plan_id}/sheet", params=plan),
        T("POST", "/api/v1/routes/schedule", body={
            "inspector_id": "UI-1", "start_date": "2026-12-01", "days": 7, "shift": shift, "mode": "walk",
            "visits": [{"visit": visit, "every_days": 7, "min_gap_days": 1, "due": "2026-12-05"}],
            "days_off": ["2026-12-06"], "reception_weekdays": [1, 3], "save": False}),
        T("POST", "/api/v1/routes/plans/{plan_id}/link", params=plan, body={"expires_in": 3600}),
        T("GET", "/api/v1/routes/plans/{plan_id}/links", params=plan),
        T("DELETE", "/api/v1/routes/links/{link_id}", params={"link_id": "rl_0123456789abcdef"}),
        T("POST", "/api/v1/routes/plans/{plan_id}/visits/{visit_id}/done", params={**plan, "visit_id": "v0"},
          body={"done_at": "2026-12-01T11:00:00+06:00"}),
        T("DELETE", "/api/v1/routes/plans/{plan_id}/visits/{visit_id}/done", params={**plan, "visit_id": "v0"}),
        T("GET", "/api/v1/workload", query={"from": "2026-01-01", "to": "2026-12-31", "format": "json"}),
        T("POST", "/api/v1/workload/balance", body={"tolerance": 0.2, "method": "grow", "max_extra_travel_min": 60,
                                                    "inspectors_per_post": {"OSM-n901": 1, "OSM-n902": 1},
                                                    "wait": True}),
        T("GET", "/api/v1/workload/balance/{result_id}", params={"result_id": ids["balance"]}),
        T("POST", "/api/v1/appeals", body={"category": "noise", "lat": lat, "lon": lon,
                                           "received_at": "2026-11-20T10:00:00+06:00"}),
        T("POST", "/api/v1/appeals", body={"category": "parking", "address": "Пушкина 13/1"}),
        T("GET", "/api/v1/appeals", query={"precinct_id": "P-01"}),
        T("POST", "/api/v1/appeals/{appeal_id}/status", params={"appeal_id": ids["appeal"]},
          body={"status": "first_contact", "at": "2026-11-21T10:00:00+06:00"}),
        T("GET", "/api/v1/appeals/indicators", query={"from": "2026-11-01", "to": "2026-12-01"}),
        T("POST", "/api/v1/workload/trust", body={"rows": [{"precinct_id": "P-01", "period": "2026-01",
                                                            "score": 4.25}]}),
        T("POST", "/api/v1/workload/trust", body=[["precinct_id", "period", "score"], ["P-01", "2026-01", "4.25"]],
          media="text/csv"),
        T("POST", "/api/v1/workload/pilots", body={"precinct_id": "P-01", "start": "2026-03-01", "note": "pilot"}),
        T("GET", "/api/v1/workload/pilots/evaluation", query={"indicator": "appeals"}),
        T("GET", "/api/v1/workload/indicators.csv", query={"from": "2026-01-01", "to": "2026-12-31"}),
        T("POST", "/admin/keys", body={"name": "fuzz key", "role": "inspector", "kind": "user_token",
                                       "subject": "UI-1", "precinct_ids": ["P-01"], "scopes": ["lookup:batch"],
                                       "expires_in": 3600, "rate_limit": "100/minute"}),
        T("GET", "/admin/keys"),
        T("DELETE", "/admin/keys/{key_id}", params={"key_id": ids["key"]}),
        T("POST", "/admin/reload", body={"bundle": str(bundle)}),
    ]


# -- spoiling -------------------------------------------------------------------------------

Slot = tuple[str, tuple[Any, ...]]  # ("str" | "num", path into the doc)


def iter_slots(value: Any, path: tuple[Any, ...] = ()) -> Iterator[Slot]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from iter_slots(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from iter_slots(v, (*path, i))
    elif isinstance(value, str):
        yield ("str", path)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield ("num", path)


def get_at(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def set_at(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    get_at(doc, path[:-1])[path[-1]] = value


def hostile_values(slot: Slot, original: Any) -> tuple[str, ...]:
    """What goes into a slot, in turn: hostile strings, dates where a date is, raw numbers."""
    kind, path = slot
    if kind == "num":
        return RAW_NUMBERS
    text = str(original)
    extra: tuple[str, ...] = ()
    if _DATE_RE.match(text):
        extra = HOSTILE_DATES
    elif _TIME_RE.match(text):
        extra = HOSTILE_TIMES
    elif path[0] != "body" and _NUMBER_RE.match(text.split(",", maxsplit=1)[0]):
        extra = RAW_NUMBERS
    return HOSTILE_STRINGS + extra


def _short(value: str) -> str:
    return repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value)} characters)"


def _quote(value: Any) -> str:
    return urllib.parse.quote(str(value).encode("utf-8", "surrogatepass"), safe="")


def dump_json(value: Any, *, ascii_only: bool = True) -> bytes:
    """JSON text of ``value``; `Raw` leaves go in as they are; lone surrogates are \\u escapes
    (``ascii_only``) or the invalid UTF-8 they encode to."""
    raws: list[str] = []

    def mark(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(str(v))
            return f"\ue000raw{len(raws) - 1}\ue000"
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    text = json.dumps(mark(value), ensure_ascii=ascii_only, allow_nan=True)
    for i, token in enumerate(raws):
        text = text.replace(json.dumps(f"\ue000raw{i}\ue000", ensure_ascii=ascii_only), token, 1)
    return text.encode("utf-8", "surrogatepass")


def dump_csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([[str(c) for c in row] for row in rows])
    return out.getvalue().encode("utf-8", "surrogatepass")


class Fuzz:
    """Sends cases to the server and keeps the figures and the failures."""

    def __init__(self, port: int, token: str, log: ServerLog, *, progress: Callable[[int], None] | None = None):
        self.port, self.token, self.log, self.progress = port, token, log, progress
        self.auth: tuple[tuple[str, bytes], ...] = (("Authorization", f"Bearer {token}".encode()),)
        self.cases = 0
        self.unsendable = 0
        self.by_op: Counter[str] = Counter()
        self.by_source: Counter[str] = Counter()
        self.statuses: Counter[int | str] = Counter()
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.slowest: tuple[float, Wire | None] = (0.0, None)
        self.busy = 0  #: 503 "Too many jobs": documented back-pressure of background jobs, not an error
        #: (op, kind, status, error key) -> Failure
        self.failures: dict[tuple[str, str, str, str], Failure] = {}
        self.logged: dict[tuple[str, str, str, str], Failure] = {}  # errors logged on answers that passed
        self.notes: list[str] = []
        self.phases: dict[str, float] = {}  #: wall seconds of each part of the run
        self.started = time.perf_counter()

    def judge(self, wire: Wire) -> tuple[Outcome, list[str], list[str]]:
        """Send ``wire``: the outcome, what is wrong with it, the server's ERROR lines meanwhile."""
        self.log.take()
        out = send(self.port, wire)
        kinds = []
        if out.error is not None:
            kinds.append("dropped")
        elif out.status is not None and out.status >= 500 and not (out.status == 503 and out.title == "Too many jobs"):
            kinds.append("server error")
        if out.seconds >= SLOW_S:
            kinds.append("slow")
        lines = self.log.take()
        if kinds and not lines:
            time.sleep(0.05)  # werkzeug logs a dropped request after the connection ends
            lines = self.log.take()
        return out, kinds, lines

    @staticmethod
    def key(wire: Wire, kind: str, out: Outcome, lines: list[str]) -> tuple[str, str, str, str]:
        status = str(out.status) if out.status is not None else (out.error or "").split(":")[0]
        return (wire.op, kind, status, " | ".join(sorted({_error_key(ln) for ln in lines})))

    # The request every generator ends in.
    def run(self, wire: Wire) -> Outcome:
        out, kinds, lines = self.judge(wire)
        self.cases += 1
        self.by_op[wire.op] += 1
        self.by_source[wire.source] += 1
        self.statuses[out.status if out.status is not None else "no answer"] += 1
        self.seconds[wire.op].append(out.seconds)
        if out.seconds > self.slowest[0]:
            self.slowest = (out.seconds, wire)
        if out.status == 503 and out.title == "Too many jobs":
            self.busy += 1
        for kind in kinds:
            self._keep(self.failures, self.key(wire, kind, out, lines), wire, out, lines)
        if lines and not kinds:
            self._keep(self.logged, self.key(wire, "logged", out, lines), wire, out, lines)
        if self.progress is not None and self.cases % 500 == 0:
            self.progress(self.cases)
        return out

    @staticmethod
    def _keep(table: dict, key: tuple, wire: Wire, out: Outcome, lines: list[str]) -> None:
        f = table.get(key)
        if f is None:
            table[key] = Failure(1, wire, out, lines, {wire.source})
            return
        f.count += 1
        f.sources.add(wire.source)
        if wire.size() < f.wire.size():
            f.wire, f.outcome, f.lines = wire, out, lines

    def minimize(self, *, budget_s: float = 30.0, attempts: int = 80) -> None:
        """Shrink the smallest request of each failure (body fields and list items, query parameters,
        headers) while the same failure comes back. Not counted as cases."""
        deadline = time.monotonic() + budget_s
        for key, f in self.failures.items():
            if key[1] == "slow" or time.monotonic() > deadline:
                continue

            def same(wire: Wire, key: tuple = key) -> tuple[Outcome, list[str]] | None:
                out, kinds, lines = self.judge(wire)
                return (out, lines) if key[1] in kinds and self.key(wire, key[1], out, lines) == key else None

            again = same(f.wire)
            if again is None:
                f.alone = False
                continue
            f.outcome, f.lines = again
            for wire, (out, lines) in _shrinks_until_stable(f.wire, same, attempts, deadline):
                f.wire, f.outcome, f.lines, f.minimized = wire, out, lines, True

    # Figures.
    @property
    def server_errors(self) -> int:
        return sum(f.count for k, f in self.failures.items() if k[1] == "server error")

    @property
    def dropped(self) -> int:
        return sum(f.count for k, f in self.failures.items() if k[1] == "dropped")

    @property
    def slow(self) -> int:
        return sum(f.count for k, f in self.failures.items() if k[1] == "slow")

    def summary_line(self) -> str:
        return (f"fuzz: {self.cases} cases over {len(self.by_op)} operations, {self.server_errors} server errors, "
                f"{self.dropped} dropped, slowest {self.slowest[0]:.2f} s ({self.slow} at {SLOW_S:.0f} s or more; "
                f"{len(self.failures)} distinct failures; {time.perf_counter() - self.started:.0f} s)")

    def _repro(self, wire: Wire) -> str:
        headers = {k: v.replace(self.token.encode(), b"<admin token>") for k, v in wire.headers}
        chunked = "  (sent with Transfer-Encoding: chunked)" if wire.chunked else ""
        target = wire.target if len(wire.target) < 3000 else wire.target[:3000] + "..."
        return (f"    method={wire.method!r} target={target!r}{chunked}\n    headers={headers!r}\n"
                f"    body={bytes_expr(wire.body)}")

    def failure_report(self) -> str:
        out = []
        for key in sorted(self.failures):
            f = self.failures[key]
            op, kind, status, _ = key
            res = f.outcome
            what = f"status {res.status}" + (f" ({res.title})" if res.title else "") if res.error is None \
                else res.error
            how = "minimized" if f.minimized else "smallest case"
            out.append(f"- {kind.upper()} on {op}: {f.count} cases ({', '.join(sorted(f.sources))}); "
                       f"{how}: {what}, {res.seconds:.2f} s" + (f"; spoiled: {f.wire.note}" if f.wire.note else ""))
            if not f.alone:
                out.append("    (did not fail again when sent alone: depends on earlier requests or on timing)")
            out.extend(f"    server log: {ln}" for ln in f.lines[:3])
            if not f.lines:
                out.append("    server log: (nothing at ERROR)")
            out.append(self._repro(f.wire))
        if self.logged:
            out.append("Errors the server logged on answers that otherwise passed:")
            for key in sorted(self.logged):
                f = self.logged[key]
                out.append(f"- {key[0]}: {f.count} cases, status {f.outcome.status}")
                out.extend(f"    server log: {ln}" for ln in f.lines[:3])
                out.append(self._repro(f.wire))
        return "\n".join(out)


@dataclass
class Failure:
    count: int
    wire: Wire  #: the smallest request that showed it (minimized after the run)
    outcome: Outcome
    lines: list[str]  #: the server's ERROR log lines for ``wire``
    sources: set[str]
    minimized: bool = False
    alone: bool = True  #: fails again when sent on its own


def bytes_expr(body: bytes | None) -> str:
    """``body`` as a Python expression, runs of a repeated piece written as ``b'x' * n``."""
    if body is None:
        return "None"
    parts, pos = [], 0
    for m in re.finditer(rb"(.{1,64}?)\1{9,}", body, re.S):
        if m.start() > pos:
            parts.append(repr(body[pos:m.start()]))
        unit = m.group(1)
        parts.append(f"{unit!r} * {(m.end() - m.start()) // len(unit)}")
        pos = m.end()
    if pos < len(body) or not parts:
        parts.append(repr(body[pos:]))
    text = " + ".join(parts)
    return text if len(text) <= 20_000 else text[:20_000] + f" ... ({len(body)} bytes in all)"


def _parse_fuzz_json(body: bytes) -> tuple[Any, bool] | None:
    """The JSON of a body as the fuzz writes it (numbers kept as raw text) and whether it was
    ASCII, when writing it again gives the same bytes; None otherwise."""
    try:
        text = body.decode("utf-8", "surrogatepass")
        doc = json.loads(text, parse_int=Raw, parse_float=Raw, parse_constant=Raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    for ascii_only in (True, False):
        if dump_json(doc, ascii_only=ascii_only) == body:
            return doc, ascii_only
    return None


def _shrinks(wire: Wire) -> Iterator[Wire]:
    """Smaller requests than ``wire``: one body field or list item, query parameter or header less."""
    smaller = functools.partial(dataclasses.replace, wire)
    parsed = _parse_fuzz_json(wire.body) if wire.body else None
    if parsed is not None:
        doc, ascii_only = parsed
        paths: list[tuple[Any, ...]] = []

        def walk(v: Any, path: tuple[Any, ...]) -> None:
            for k, x in (v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()):
                paths.append((*path, k))
                walk(x, (*path, k))

        walk(doc, ())
        for path in paths:
            less = copy.deepcopy(doc)
            del get_at(less, path[:-1])[path[-1]]
            yield smaller(body=dump_json(less, ascii_only=ascii_only))
    if "?" in wire.target:
        path_part, query = wire.target.split("?", 1)
        params = query.split("&")
        for i in range(len(params)):
            rest = "&".join(params[:i] + params[i + 1:])
            yield smaller(target=path_part + (f"?{rest}" if rest else ""))
    auths = sum(n.lower() == "authorization" for n, _ in wire.headers)
    for i, (name, _) in enumerate(wire.headers):
        if name.lower() != "authorization" or auths > 1:
            yield smaller(headers=wire.headers[:i] + wire.headers[i + 1:])
    if wire.chunked:
        yield smaller(chunked=False)


def _shrinks_until_stable(wire: Wire, same: Callable[[Wire], Any], attempts: int, deadline: float
                          ) -> Iterator[tuple[Wire, tuple[Outcome, list[str]]]]:
    """Keep taking the first smaller request that still fails the same way (greedy)."""
    while attempts > 0 and time.monotonic() < deadline:
        for candidate in _shrinks(wire):
            attempts -= 1
            got = same(candidate)
            if got is not None:
                wire = candidate
                yield wire, got
                break
            if attempts <= 0 or time.monotonic() > deadline:
                return
        else:
            return


# -- generators -----------------------------------------------------------------------------

def render(fuzz: Fuzz, t: Template, doc: dict[str, Any], source: str, *, ascii_only: bool = True,
           headers: tuple[tuple[str, bytes], ...] | None = None) -> Wire:
    target = re.sub(r"\{(\w+)\}", lambda m: _quote(doc["path"][m[1]]), t.path)
    if doc["query"]:
        target += "?" + "&".join(f"{_quote(k)}={_quote(v)}" for k, v in doc["query"].items())
    hs = fuzz.auth if headers is None else headers
    body = None
    if doc["body"] is not None:
        body = dump_csv(doc["body"]) if t.media == "text/csv" else dump_json(doc["body"], ascii_only=ascii_only)
        if headers is None:
            hs = (*hs, ("Content-Type", t.media.encode()))
    return Wire(t.op, source, t.method, target, hs, body)


def single_substitutions(fuzz: Fuzz, t: Template) -> Iterator[Wire]:
    """Each string and number of ``t`` replaced in turn by each hostile value."""
    doc0 = t.doc()
    for slot in iter_slots(doc0):
        original = get_at(doc0, slot[1])
        for value in hostile_values(slot, original):
            doc = copy.deepcopy(doc0)
            set_at(doc, slot[1], Raw(value) if slot[0] == "num" else value)
            wire = render(fuzz, t, doc, "hostile field")
            yield dataclasses.replace(wire, note=f"{'.'.join(map(str, slot[1]))} = {_short(value)}")


def header_variants(fuzz: Fuzz, t: Template) -> Iterator[Wire]:
    """Hostile credentials and headers on a valid request."""
    doc = t.doc()
    ct = (("Content-Type", t.media.encode()),) if doc["body"] is not None else ()

    def enc(s: str) -> bytes:
        return s.encode("utf-8", "surrogatepass")

    token = f"Bearer {fuzz.token}".encode()
    variants: list[tuple[tuple[str, bytes], ...]] = [
        (("Authorization", b"Bearer " + enc("{{7*7}}")),), (("Authorization", b"Bearer " + enc("\ud800\u202e")),),
        (("Authorization", b"Bearer " + b"A" * 10_000),), (("Authorization", b"Bearer"),), (("Authorization", b""),),
        (("Authorization", b"Basic " + enc("<script>alert(1)</script>")),), (("Authorization", b"Bearer \xff\xfe"),),
        (("X-API-Key", enc('"><img src=x onerror=alert(1)>')),), (("X-API-Key", b"\xed\xa0\x80"),),
        (("Authorization", token), ("X-API-Key", b"k")), (("Authorization", token), ("Authorization", b"Bearer x")),
        (("Authorization", token), ("Accept-Language", enc("{{7*7}},\u202e;q=NaN"))),
        (("Authorization", token), ("Accept", enc("<script>/*"))), (("Authorization", token), ("Cookie", b"\xff=\x00")),
        (("Authorization", token), ("Host", enc("{{7*7}}\u200b"))), (("Authorization", token), ("Host", b"")),
        (("Authorization", token), ("X-Forwarded-For", enc("javascript:alert(1), \ud800"))),
    ]
    for hs in variants:
        yield render(fuzz, t, doc, "hostile header", headers=(*hs, *ct))


def _first_string_marked(t: Template) -> bytes | None:
    """The valid body with its first string replaced by a marker (to put raw bytes into)."""
    doc = t.doc()
    slots = [s for s in iter_slots(doc["body"]) if s[0] == "str"]
    if not slots:
        return None
    set_at(doc["body"], slots[0][1], "\ue001")
    return dump_json(doc["body"], ascii_only=False) if t.media != "text/csv" else dump_csv(doc["body"])


def envelope_variants(fuzz: Fuzz, t: Template, too_large: bytes) -> Iterator[Wire]:
    """The valid body of a POST sent wrongly: content types, encodings, framing, size
    (``too_large``: a body over MAX_CONTENT_LENGTH, one object shared by every operation)."""
    doc = t.doc()
    if doc["body"] is None:
        return
    good = render(fuzz, t, doc, "").body or b""
    target = render(fuzz, t, doc, "").target
    ct_json = t.media.encode()
    body = doc["body"]
    flat = body.items() if isinstance(body, dict) else [("body", good.decode("utf-8", "replace"))]
    form = urllib.parse.urlencode([(k, v if isinstance(v, str) else json.dumps(v)) for k, v in flat]).encode()
    boundary = b"fuzzBOUNDARY"
    multipart = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="body"\r\n'
                 b"Content-Type: application/json\r\n\r\n" + good + b"\r\n--" + boundary + b"--\r\n")
    variants: list[tuple[str, tuple[tuple[str, bytes], ...], bytes, bool]] = [
        ("text/plain", (("Content-Type", b"text/plain"),), good, False),
        ("text/plain utf-8", (("Content-Type", b"text/plain; charset=utf-8"),), good, False),
        ("no content type", (), good, False),
        ("form", (("Content-Type", b"application/x-www-form-urlencoded"),), form, False),
        ("form as json", (("Content-Type", ct_json),), form, False),
        ("multipart", (("Content-Type", b"multipart/form-data; boundary=" + boundary),), multipart, False),
        ("multipart without boundary", (("Content-Type", b"multipart/form-data"),), good, False),
        ("utf-16", (("Content-Type", ct_json + b"; charset=utf-16"),), good.decode("utf-8", "surrogatepass")
         .encode("utf-16", "surrogatepass"), False),
        ("latin-1", (("Content-Type", ct_json + b"; charset=latin-1"),),
         good.replace(b"}", b', "\xe9": "\xe9"}', 1) if good.startswith(b"{") else good + b"\xe9", False),
        ("vendor +json", (("Content-Type", b"application/vnd.evil+json"),), good, False),
        ("upper case", (("Content-Type", ct_json.upper()),), good, False),
        ("any", (("Content-Type", b"*/*"),), good, False),
        ("odd parameter", (("Content-Type", ct_json + b'; charset="{{7*7}}"; x=\xff'),), good, False),
        ("gzip", (("Content-Type", ct_json), ("Content-Encoding", b"gzip")), gzip.compress(good, mtime=0), False),
        ("bom", (("Content-Type", ct_json),), b"\xef\xbb\xbf" + good, False),
        ("invalid utf-8 before", (("Content-Type", ct_json),), b"\xff" + good, False),
        ("invalid utf-8 after", (("Content-Type", ct_json),), good + b"\xc0", False),
        ("empty", (("Content-Type", ct_json),), b"", False),
        ("blank", (("Content-Type", ct_json),), b" \r\n\t", False),
        ("null", (("Content-Type", ct_json),), b"null", False),
        ("array", (("Content-Type", ct_json),), b"[" + good + b"]", False),
        ("string", (("Content-Type", ct_json),), b'"\\ud800"', False),
        ("number", (("Content-Type", ct_json),), b"1e400", False),
        ("NaN", (("Content-Type", ct_json),), b"NaN", False),
        ("deep array", (("Content-Type", ct_json),), b"[" * 100_000 + b"]" * 100_000, False),
        ("deep object", (("Content-Type", ct_json),), b'{"a":' * 3000 + b"1" + b"}" * 3000, False),
        ("duplicate keys", (("Content-Type", ct_json),),
         good[:-1] + b", " + good[1:] if good.startswith(b"{") and len(good) > 2 else good, False),
        ("trailing garbage", (("Content-Type", ct_json),), good + b"}]\x00", False),
        ("truncated", (("Content-Type", ct_json),), good[: max(1, len(good) // 2)], False),
        ("chunked", (("Content-Type", ct_json),), good, True),
        ("too large", (("Content-Type", ct_json),), too_large, False),
    ]
    marked = _first_string_marked(t)
    if marked is not None:
        for bad in INVALID_UTF8:
            variants.append((f"invalid utf-8 {bad!r}", (("Content-Type", ct_json),),
                             marked.replace("\ue001".encode(), b"ok" + bad), False))
    for name, hs, payload, chunked in variants:
        yield Wire(t.op, "envelope", t.method, target, (*fuzz.auth, *hs), payload, chunked, note=name)


def _drive(strategy: st.SearchStrategy, n: int, key: str, sink: Callable[[Any], None], notes: list[str]) -> int:
    """Draw up to ``n`` examples of ``strategy`` (fewer when hypothesis runs out) into ``sink``."""
    if n <= 0:
        return 0
    count = [0]

    @seed(zlib.crc32(key.encode()))
    @settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(item=strategy)
    def run(item: Any) -> None:
        count[0] += 1
        sink(item)

    try:
        run()
    except Unsatisfiable:
        pass  # an operation without parameters has no negative data
    except Exception as exc:  # noqa: BLE001 - a generator that cannot work is reported, not fatal
        notes.append(f"{key}: generation stopped after {count[0]} cases: {type(exc).__name__}: {str(exc)[:200]}")
    return count[0]


def combo_strategy(fuzz: Fuzz, t: Template) -> st.SearchStrategy[Wire]:
    """Several fields spoiled at once, around their values, hostile keys and parameter names."""
    doc0 = t.doc()
    slots = list(iter_slots(doc0))
    holders: list[tuple[Any, ...]] = [("query",)]  # where a hostile key goes: a query parameter, any body object

    def walk(v: Any, path: tuple[Any, ...]) -> None:
        if isinstance(v, dict):
            holders.append(path)
        for k, x in (v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()):
            walk(x, (*path, k))

    if t.media == "application/json":
        walk(doc0["body"], ("body",))
    texts = st.one_of(st.sampled_from(HOSTILE_STRINGS + HOSTILE_DATES + HOSTILE_TIMES),
                      st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=6).map("".join),
                      st.text(max_size=30))
    numbers = st.one_of(st.sampled_from(RAW_NUMBERS).map(Raw), st.floats(allow_nan=True, allow_infinity=True),
                        st.integers(min_value=-(10**40), max_value=10**40))

    def spoil(slot: Slot) -> st.SearchStrategy[tuple[Slot, str, Any]]:
        if slot[0] == "num":
            return st.tuples(st.just(slot), st.just("replace"), numbers)
        return st.tuples(st.just(slot), st.sampled_from(["replace", "prefix", "suffix", "infix"]), texts)

    picks = st.lists(st.sampled_from(slots).flatmap(spoil), max_size=4, unique_by=lambda p: p[0][1]) if slots \
        else st.just([])
    keys = st.lists(st.tuples(st.sampled_from(holders), texts, st.one_of(texts, numbers)), max_size=2)

    @st.composite
    def build(draw: Callable[..., Any]) -> Wire:
        doc = copy.deepcopy(doc0)
        chosen = draw(picks)
        added = draw(keys)
        if not chosen and not added:
            added = [draw(st.tuples(st.sampled_from(holders), texts, texts))]
        for slot, how, piece in chosen:
            old = get_at(doc, slot[1])
            value = piece
            if slot[0] == "str":
                old = str(old)
                value = {"replace": piece, "prefix": piece + old, "suffix": old + piece,
                         "infix": old[: len(old) // 2] + piece + old[len(old) // 2:]}[how]
            set_at(doc, slot[1], value)
        for holder, k, v in added:
            target = get_at(doc, holder)
            if isinstance(target, dict):
                target[k] = str(v) if holder[0] == "query" else v
        return render(fuzz, t, doc, "hostile mix", ascii_only=draw(st.booleans()))

    return build()


def case_wire(fuzz: Fuzz, case: Any, op: str, source: str, base: str) -> Wire | None:
    """A schemathesis case as a request on the wire (with the admin token instead of generated credentials)."""
    import requests

    if op == "POST /api/v1/siting/solve" and isinstance(case.body, dict):
        tl = case.body.get("time_limit", 60)
        if isinstance(tl, (int, float)) and not isinstance(tl, bool) and tl > 1:
            case.body["time_limit"] = 1  # the solver's limit, so a valid run stays short
    try:
        kw = case.as_transport_kwargs(base_url=base)
        body = kw.get("data")
        headers = {k: v for k, v in (kw.get("headers") or {}).items()
                   if k.lower() not in ("authorization", "x-api-key", "content-length", "x-schemathesis-testcaseid")}
        if "json" in kw:
            body = json.dumps(kw["json"], ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")
            headers.setdefault("Content-Type", "application/json")
        req = requests.Request(method=kw["method"], url=kw["url"], params=kw.get("params"), headers=headers,
                               data=body, files=kw.get("files"), cookies=kw.get("cookies")).prepare()
        parts = urllib.parse.urlsplit(req.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        hs = tuple((k, v.encode("latin-1") if isinstance(v, str) else v) for k, v in req.headers.items()
                   if k.lower() != "content-length")
        data = req.body.encode("utf-8", "surrogatepass") if isinstance(req.body, str) else req.body
        for k, v in hs:
            if not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", k) or re.search(rb"[\r\n]", v):
                raise ValueError("a header http.client cannot send")
        if re.search(r"[\x00-\x20\x7f]", target):
            raise ValueError("a target http.client cannot send")
    except Exception:  # noqa: BLE001 - a case that cannot be put on the wire is skipped and counted
        fuzz.unsendable += 1
        return None
    return Wire(op, source, req.method or "GET", target, (*fuzz.auth, *hs), data)


def _subsample(items: list[Wire], quota: int) -> list[Wire]:
    if quota >= len(items):
        return items
    step = len(items) / max(quota, 1)
    return [items[int(i * step)] for i in range(quota)]


def _call(fuzz: Fuzz, method: str, target: str, body: Any = None) -> tuple[int, Any, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", fuzz.port, timeout=TIMEOUT_S)
    headers = {"Authorization": f"Bearer {fuzz.token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, target, body=data, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    return resp.status, doc, resp


def make_resources(fuzz: Fuzz) -> dict[str, str]:
    """A kept plan, appeal, siting and balance result and a spare key, so ids in paths are real."""
    from tests.conftest import grid_latlon

    lat, lon = (round(x, 6) for x in grid_latlon(0.5, 0.5))
    ids = {"plan": "pl_missing", "appeal": "ap_missing", "siting": "missing", "balance": "missing",
           "key": "missing"}
    steps = [
        ("plan", "POST", "/api/v1/routes/plan", {"inspector_id": "UI-1", "date": "2026-12-01", "visits": [
            {"id": "v0", "lat": lat, "lon": lon, "label": '"><img src=x onerror=alert(1)> {{7*7}}'},
            {"id": "v1", "address": "Пушкина 13/1", "label": "<script>alert(1)</script>"}]}),
        ("appeal", "POST", "/api/v1/appeals", {"category": "noise", "lat": lat, "lon": lon,
                                               "received_at": "2026-11-20T10:00:00+06:00"}),
        ("siting", "POST", "/api/v1/siting/solve", {"model": "mclp", "minutes": 2, "p": 1, "existing": "none",
                                                    "time_limit": 1}),
        ("balance", "POST", "/api/v1/workload/balance", {"tolerance": 0.2}),
        ("key", "POST", "/admin/keys", {"name": "spare", "role": "external_system"}),
        # a pilot with appeals before and after its start, so the evaluation has something to weigh
        ("pilot", "POST", "/api/v1/workload/pilots", {"precinct_id": "P-01", "start": "2026-03-01"}),
        ("appeal before", "POST", "/api/v1/appeals", {"category": "noise", "lat": lat, "lon": lon,
                                                      "received_at": "2026-01-20T10:00:00+06:00"}),
    ]
    for name, method, target, body in steps:
        try:
            status, doc, _ = _call(fuzz, method, target, body)
        except OSError as exc:
            fuzz.notes.append(f"setup {method} {target}: {exc}")
            continue
        if status < 300 and isinstance(doc, dict):
            ids[name] = str(doc.get("id", ""))
        else:
            fuzz.notes.append(f"setup {method} {target} answered {status}; its id in paths is made up")
    return ids


def run_fuzz(app: Any, token: str, bundle: Path, *, cases: int = DEFAULT_CASES,
             progress: Callable[[int], None] | None = None) -> Fuzz:
    """Serve ``app`` and send about ``cases`` cases (at least that many); the figures and failures."""
    log = ServerLog()
    root, service = logging.getLogger(), logging.getLogger("geo_service")
    level = service.level
    root.addHandler(log)
    service.setLevel(logging.ERROR)  # hostile input makes many warnings (refused reloads, ...), all expected
    try:
        with serving(app) as port:
            fuzz = Fuzz(port, token, log, progress=progress)
            _run(fuzz, app, bundle, cases)
    finally:
        root.removeHandler(log)
        service.setLevel(level)
    return fuzz


def _run(fuzz: Fuzz, app: Any, bundle: Path, cases: int) -> None:
    base = f"http://127.0.0.1:{fuzz.port}"
    ids = make_resources(fuzz)
    temps = templates(ids, bundle)
    max_bytes = int(app.config.get("MAX_CONTENT_LENGTH") or 4 * 2**20)
    too_large = b'{"x": "' + b"x" * max_bytes + b'"}'
    t0 = time.perf_counter()

    # The fixed part: each template as it is, then spoiled one field and one header at a time, then
    # each POST body sent wrongly (thinned out evenly only when it would pass 90 % of ``cases``).
    for t in temps:
        out = fuzz.run(render(fuzz, t, t.doc(), "valid"))
        if out.status is None or out.status >= 400:
            fuzz.notes.append(f"the valid request of {t.op} was answered {out.status or out.error}")
    fixed = [w for t in temps for w in single_substitutions(fuzz, t)]
    fixed += [w for t in temps for w in header_variants(fuzz, t)]
    fixed += [w for t in temps if t.method == "POST" for w in envelope_variants(fuzz, t, too_large)]
    for wire in _subsample(fixed, int(0.9 * cases) - fuzz.cases):
        fuzz.run(wire)
    fuzz.phases["valid requests spoiled one part at a time"] = time.perf_counter() - t0

    # schemathesis, positive and negative data, for every documented operation: 20 % of the cases.
    t0 = time.perf_counter()
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    documented = [(op.ok().method.upper(), op.ok().path, op.ok()) for op in schema.get_all_operations()]
    share = max(1, int(0.2 * cases) // (2 * max(1, len(documented))))
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        source = f"schemathesis {mode.value}"
        empty = []
        for method, path, operation in documented:
            op = f"{method} {path}"

            def sink(case: Any, op: str = op, source: str = source) -> None:
                wire = case_wire(fuzz, case, op, source, base)
                if wire is not None:
                    fuzz.run(wire)

            if not _drive(operation.as_strategy(generation_mode=mode), share, f"{source} {op}", sink, fuzz.notes):
                empty.append(op)
        if empty:
            fuzz.notes.append(f"{source}: no cases for {', '.join(empty)} (nothing to generate)")
    fuzz.phases["schemathesis"] = time.perf_counter() - t0

    # hypothesis mixes over every template: the rest, at least 5 % of the cases.
    t0 = time.perf_counter()
    strategies = [(t, combo_strategy(fuzz, t)) for t in temps]
    goal = max(cases, fuzz.cases + int(0.05 * cases))
    for round_ in range(20):
        if fuzz.cases >= goal:
            break
        each = math.ceil((goal - fuzz.cases) / len(strategies))
        for i, (t, strategy) in enumerate(strategies):
            _drive(strategy, min(each, max(1, goal - fuzz.cases)), f"mix {round_} {i} {t.op}", fuzz.run, fuzz.notes)
            if fuzz.cases >= goal:
                break
    fuzz.phases["hypothesis mixes"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    fuzz.minimize()
    fuzz.phases["minimizing failures"] = time.perf_counter() - t0


# -- the test -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str, Path]:
    return build_app(tmp_path_factory.mktemp("fuzz"))


def test_hostile_input_over_http(fuzz_app: tuple[Any, str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    app, token, bundle = fuzz_app
    fuzz = run_fuzz(app, token, bundle, cases=DEFAULT_CASES)
    report = fuzz.failure_report()
    with capsys.disabled():
        print("\n" + fuzz.summary_line())
        print("fuzz cases: " + ", ".join(f"{k} {v}" for k, v in sorted(fuzz.by_source.items()))
              + "; parts: " + ", ".join(f"{k} {v:.0f} s" for k, v in fuzz.phases.items()))
        for note in fuzz.notes:
            print(f"fuzz note: {note}")
        if fuzz.failures or fuzz.logged:
            print(report)
    assert fuzz.cases >= DEFAULT_CASES
    assert set(fuzz.by_op) >= {f"{m} {p}" for m, p in ALL_OPERATIONS}, "operations the fuzz did not reach"
    assert (fuzz.server_errors, fuzz.dropped, fuzz.slow) == (0, 0, 0), f"{fuzz.summary_line()}\n{report}"

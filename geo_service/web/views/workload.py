"""Workload per precinct, balanced precinct proposals, and citizens' appeals."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo_service import clock
from geo_service.errors import InputError
from geo_service.jsonsafe import json_safe
from geo_service.web.context import appeal_store, get_city, lookup_service
from geo_service.web.jobs import fetch, keep, start_job
from geo_service.web.security import access, audit, current_principal, require_precinct
from geo_service.web.validation import Day, Moment, parse_json_body, parse_period
from geo_service.web.validation import validate_body as _model

bp = Blueprint("workload", __name__, url_prefix="/api/v1")

APPEAL_STATUSES = ("first_contact", "closed")


@bp.get("/workload")
@access("planner")
def workload() -> Response:
    """Indicators and the workload index per precinct (JSON, or CSV with ``format=csv``)."""
    from geo_service.workload.indicators import indicators, summary, to_csv

    unknown = set(request.args) - {"from", "to", "format"}
    if unknown:
        msg = f"unknown parameter(s): {', '.join(sorted(unknown))}"
        raise InputError(msg)
    start, end = parse_period()
    city = get_city()
    store = appeal_store()
    appeals = store.frame(start=start, end=end) if start or end else store.frame()
    period = (start, end) if start and end else None
    # Visits made in the period, counted per precinct by the database.
    visits = store.visits_made_by_precinct(start=start, end=end)
    visits.attrs["period"] = period
    frame = indicators(city, appeals=appeals, visits=visits, period=period)
    if request.args.get("format") == "csv":
        return Response(to_csv(frame), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="workload.csv"'})
    rows = frame.reset_index().replace({float("nan"): None}).to_dict(orient="records")
    return jsonify(json_safe({"weights": frame.attrs.get("weights_used"), "summary": summary(frame),
                              "precincts": rows}))


class BalanceBody(BaseModel):
    """A balanced-precinct proposal around the city's posts."""

    model_config = ConfigDict(extra="forbid")
    tolerance: float = Field(default=0.10, gt=0, le=0.5, description="target band around the mean load")
    inspectors_per_post: dict[str, int] | None = Field(default=None, description="post_id -> inspectors there")
    hard_borders: dict[str, Any] | None = Field(default=None, description="GeoJSON lines or polygons that "
                                                "precincts must not cross (district borders, rivers, railways)")
    method: Literal["grow", "mip"] = "grow"
    max_extra_travel_min: float | None = Field(
        default=60.0, gt=0, le=1440,
        description="compactness rule: a block joins a post at most this many minutes' walk farther than its "
                    "nearest post (default 60; null: no rule, which balances better but may place residents "
                    "hours farther from their post than from the nearest one)")
    wait: bool = Field(default=True, description="answer with the proposal (201), or at once with a job to "
                                                 "fetch from Location (202: running; 200: done or failed)")


@bp.post("/workload/balance")
@access("planner")
def balance() -> Response:
    """Propose contiguous precincts with balanced workload; the proposal is kept."""
    from geo_service.workload.balance import balance_precincts

    body = _model(BalanceBody, parse_json_body(max_bytes=2_000_000))
    city = get_city()

    def run() -> dict[str, Any]:
        return balance_precincts(city, inspectors_per_post=body.inspectors_per_post, hard_borders=body.hard_borders,
                                 tolerance=body.tolerance, method=body.method,
                                 max_extra_travel_min=body.max_extra_travel_min).to_dict()

    if not body.wait:
        return start_job("balance", run, location="/api/v1/workload/balance")[0]
    return keep("balance", run(), location="/api/v1/workload/balance")


@bp.get("/workload/balance/<result_id>")
@access("planner")
def balance_result(result_id: str) -> Response:
    """A kept balanced-precinct proposal."""
    return fetch("balance", result_id)


class AppealBody(BaseModel):
    """A citizen's appeal: where (a point or an address), what (a category code), when."""

    model_config = ConfigDict(extra="forbid")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, min_length=1, max_length=200)
    category: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="a category code, no free text")
    received_at: Moment | None = None

    @model_validator(mode="after")
    def _where(self) -> AppealBody:
        if (self.address is None) == (self.lat is None or self.lon is None):
            msg = "give lat and lon, or address"
            raise ValueError(msg)
        return self


@bp.post("/appeals")
@access("external_system")
def create_appeal() -> Response:
    """Record an appeal (e.g. from the eGov channel): it goes to the precinct's inspector."""
    body = _model(AppealBody, parse_json_body())
    lat, lon = body.lat, body.lon
    if body.address is not None:
        answer = lookup_service().by_address(body.address, limit=3, travel=False)
        if answer["ambiguous"]:
            msg = "the address is ambiguous; give lat and lon"
            raise InputError(msg, candidates=answer["candidates"][:3])
        lat, lon = answer["candidates"][0]["lat"], answer["candidates"][0]["lon"]
    appeal = appeal_store().create(lat=lat, lon=lon, category=body.category, received_at=body.received_at)
    audit("appeal.create", record_type="appeal", record_id=appeal.id, outcome="ok")
    resp = jsonify(appeal.to_dict())
    resp.status_code = 201
    return resp


class StatusBody(BaseModel):
    """The next step of an appeal."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["first_contact", "closed"]
    at: Moment | None = None


@bp.post("/appeals/<appeal_id>/status")
@access("inspector")
def appeal_status(appeal_id: str) -> Response:
    """Move an appeal on: received -> first_contact -> closed (own precinct)."""
    body = _model(StatusBody, parse_json_body())
    store = appeal_store()
    appeal = store.get(appeal_id)
    require_precinct(appeal.precinct_id)
    appeal = store.advance(appeal_id, body.status, body.at)
    audit("appeal.status", record_type="appeal", record_id=appeal_id, outcome=body.status)
    return jsonify(appeal.to_dict())


@bp.get("/appeals")
@access("inspector")
def list_appeals() -> Response:
    """Open appeals of the caller's precincts (planners: all, or ``precinct_id=``)."""
    principal = current_principal()
    precinct = request.args.get("precinct_id")
    frame = appeal_store().frame(precinct_id=precinct)
    if principal.role == "inspector":
        frame = frame[frame.precinct_id.isin(principal.precinct_ids)]
    frame = frame[frame.status != "closed"]
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    for row in rows:
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                row[key] = value.isoformat()
    return jsonify({"count": len(rows), "appeals": rows})


@bp.get("/appeals/indicators")
@access("planner")
def appeal_indicators() -> Response:
    """Appeal processing time per precinct: median and 90th percentile hours; with the share
    of preventive-register visits made on time (visits due in the period, from kept plans)."""
    from geo_service.appeals.store import PREVENTIVE_REGISTER, visits_on_time

    start, end = parse_period()
    store = appeal_store()
    frame = store.processing_times(start=start, end=end)
    rows = frame.reset_index().astype(object).where(frame.reset_index().notna(), None).to_dict(orient="records")
    visits = store.visit_frame(start=start, end=end, priority=PREVENTIVE_REGISTER)
    on_time = visits_on_time(visits)
    vrows = on_time.astype(object).where(on_time.notna(), None).to_dict(orient="records")
    return jsonify(json_safe({"precincts": rows, "register_visits": vrows}))


# -- the reform's indicators: trust scores, pilots, their evaluation, the monthly export ----------
#: Indicators a pilot evaluation compares (monthly, per precinct).
EVALUATION_INDICATORS = ("appeals", "first_contact_hours", "trust")
#: Columns of the monthly indicator export.
INDICATOR_COLUMNS = ("precinct_id", "period", "appeals_received", "appeals_closed", "first_contact_median_h",
                     "trust_score", "register_visits_due", "register_visits_on_time", "register_visits_share_on_time")
#: At most this many trust rows in one import.
MAX_TRUST_ROWS = 20_000


def _month(values: Any) -> Any:
    """Month starts (naive timestamps) of date-like values."""
    import pandas as pd

    t = pd.to_datetime(values, utc=True, errors="coerce")
    return t.dt.tz_localize(None).dt.to_period("M").dt.to_timestamp()


def _visits_due(visits: Any, as_of: dt.date | None = None) -> Any:
    """Preventive-register visit records that count (made, or due before ``as_of``) with
    ``period`` (month of the due date) and ``on_time``."""
    import pandas as pd

    from geo_service.appeals.store import PREVENTIVE_REGISTER

    v = visits[visits["priority"] == PREVENTIVE_REGISTER] if len(visits) else visits
    if not len(v):
        return pd.DataFrame(columns=["precinct_id", "period", "on_time"])
    due = pd.to_datetime(v["due_date"])
    done = pd.to_datetime(v["done_date"])
    counts = done.notna() | (due < pd.Timestamp(as_of or clock.today()))
    return pd.DataFrame({"precinct_id": v["precinct_id"].astype(str), "period": due.dt.to_period("M").dt.to_timestamp(),
                         "on_time": (done.notna() & (done <= due))})[counts.to_numpy()]


def monthly_indicators(appeals: Any, trust: Any, visits: Any = None) -> Any:
    """The reform's indicators per precinct and month (no Flask: callable from pages and the CLI).

    Parameters
    ----------
    appeals
        `geo_service.appeals.store.AppealStore.frame` rows.
    trust
        `geo_service.appeals.store.AppealStore.trust_scores` rows (a survey period counts in its month).
    visits
        `geo_service.appeals.store.AppealStore.visit_frame` rows (optional): preventive-register
        visits count in the month of their due date once made or overdue.

    Returns
    -------
    DataFrame
        `INDICATOR_COLUMNS`: appeals received in the month, appeals closed in the month,
        the median hours to first contact of the appeals received in the month (NaN without
        contacts), the month's mean trust score (NaN without a survey), and the
        preventive-register visits due in the month, made on time, and their share;
        ``period`` is ``YYYY-MM``. One row per precinct and month with any figure; sorted.
    """
    import pandas as pd

    parts = []
    if len(appeals):
        a = appeals
        received = pd.DataFrame({"precinct_id": a["precinct_id"].astype(str), "period": _month(a["received_at"]),
                                 "h": (a["first_contact_at"] - a["received_at"]).dt.total_seconds() / 3600})
        g = received.groupby(["precinct_id", "period"])
        parts.append(pd.DataFrame({"appeals_received": g.size(), "first_contact_median_h": g["h"].median()}))
        done = a[a["closed_at"].notna()]
        if len(done):
            closed = pd.DataFrame({"precinct_id": done["precinct_id"].astype(str),
                                   "period": _month(done["closed_at"])})
            parts.append(closed.groupby(["precinct_id", "period"]).size().rename("appeals_closed").to_frame())
    if len(trust):
        tr = pd.DataFrame({"precinct_id": trust["precinct_id"].astype(str), "period": _month(trust["period"]),
                           "trust_score": pd.to_numeric(trust["score"], errors="coerce")})
        parts.append(tr.groupby(["precinct_id", "period"])["trust_score"].mean().to_frame())
    if visits is not None:
        vd = _visits_due(visits)
        if len(vd):
            g = vd.groupby(["precinct_id", "period"])["on_time"]
            parts.append(pd.DataFrame({"register_visits_due": g.size(), "register_visits_on_time": g.sum()}))
    if not parts:
        return pd.DataFrame(columns=list(INDICATOR_COLUMNS))
    out = pd.concat(parts, axis=1).sort_index().reset_index()
    for c in INDICATOR_COLUMNS:
        if c not in out.columns:
            out[c] = float("nan")
    for c in ("appeals_received", "appeals_closed", "register_visits_due", "register_visits_on_time"):
        out[c] = out[c].fillna(0).astype(int)
    due = out["register_visits_due"].to_numpy()
    out["register_visits_share_on_time"] = [round(o / d, 4) if d else float("nan")
                                            for o, d in zip(out["register_visits_on_time"], due)]
    out["period"] = out["period"].dt.strftime("%Y-%m")
    return out[list(INDICATOR_COLUMNS)].reset_index(drop=True)


def city_trends(appeals: Any, trust: Any, visits: Any = None, *, months: int = 24) -> dict[str, list[tuple[str, float]]]:
    """City-wide trends for the dashboard: ``appeals`` (received per month, months without
    appeals as 0), ``first_contact_h`` (median hours to first contact of the month's
    appeals), ``trust`` (mean score per survey period), ``visits_on_time`` (percent of the
    preventive-register visits due in the month made on time); at most the last ``months``
    points."""
    import pandas as pd

    out: dict[str, list[tuple[str, float]]] = {"appeals": [], "first_contact_h": [], "trust": [],
                                               "visits_on_time": []}
    if visits is not None:
        vd = _visits_due(visits)
        if len(vd):
            share = vd.groupby("period")["on_time"].mean().sort_index() * 100
            out["visits_on_time"] = [(pd.Timestamp(d).strftime("%Y-%m"), float(v)) for d, v in share.items()][-months:]
    if len(appeals):
        t = _month(appeals["received_at"])
        counts = t.value_counts().sort_index()
        full = pd.date_range(counts.index.min(), counts.index.max(), freq="MS")
        counts = counts.reindex(full, fill_value=0)
        out["appeals"] = [(d.strftime("%Y-%m"), float(v)) for d, v in counts.items()][-months:]
        h = ((appeals["first_contact_at"] - appeals["received_at"]).dt.total_seconds() / 3600).to_numpy()
        med = pd.Series(h, index=t.to_numpy()).dropna().groupby(level=0).median().sort_index()
        out["first_contact_h"] = [(pd.Timestamp(d).strftime("%Y-%m"), float(v)) for d, v in med.items()][-months:]
    if len(trust):
        per = pd.Series(pd.to_numeric(trust["score"], errors="coerce").to_numpy(),
                        index=pd.to_datetime(trust["period"]).to_numpy()).dropna().groupby(level=0).mean().sort_index()
        out["trust"] = [(pd.Timestamp(d).strftime("%Y-%m-%d"), float(v)) for d, v in per.items()][-months:]
    return out


def evaluation_panel(indicator: str, appeals: Any, trust: Any, precinct_ids: list[str]) -> Any:
    """The precinct x period panel (``precinct_id, period, value``) a pilot evaluation compares.

    ``appeals``: appeals received per month (a month without appeals counts 0 for every
    precinct of the city, between the first and last month with any); ``first_contact_hours``:
    the month's median hours to first contact; ``trust``: the survey scores.
    """
    import pandas as pd

    from geo_service.appeals.store import monthly_panel

    if indicator == "appeals":
        panel = monthly_panel(appeals, time_column="received_at", how="count")
        if len(panel):
            months = pd.date_range(panel["period"].min(), panel["period"].max(), freq="MS")
            ids = sorted(set(precinct_ids) | set(panel["precinct_id"]))
            grid = pd.MultiIndex.from_product([ids, months], names=["precinct_id", "period"])
            panel = panel.set_index(["precinct_id", "period"])["value"].reindex(grid, fill_value=0).reset_index()
        return panel
    if indicator == "first_contact_hours":
        a = appeals.copy()
        a["hours"] = (a["first_contact_at"] - a["received_at"]).dt.total_seconds() / 3600 if len(a) else []
        return monthly_panel(a, time_column="received_at", value_column="hours", how="median").dropna()
    return trust.rename(columns={"score": "value"})[["precinct_id", "period", "value"]]


def _trust_rows_from_csv(text_body: str) -> list[dict[str, Any]]:
    import csv
    import io

    reader = csv.reader(io.StringIO(text_body.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InputError("the CSV is empty; send a header precinct_id,period,score and rows") from None
    except csv.Error as exc:
        raise InputError(f"cannot read the CSV: {exc}") from None
    missing = [c for c in ("precinct_id", "period", "score") if c not in header]
    if missing:
        msg = f"the CSV misses column(s) {', '.join(missing)} (need precinct_id, period, score)"
        raise InputError(msg)
    rows = []
    try:
        for line, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            rec = dict(zip(header, cells))
            rows.append({"_line": line, **{k: rec.get(k) for k in ("precinct_id", "period", "score")}})
    except csv.Error as exc:
        raise InputError(f"cannot read the CSV: {exc}") from None
    return rows


def check_trust_rows(rows: list[Any], known: set[str]) -> tuple[list[tuple[str, dt.date, float]], list[str]]:
    """Survey rows checked one by one: the good ones, and one line per bad row (``line N: ...``
    for CSV lines, ``row N: ...`` for JSON rows counted from 1)."""
    import math

    good: list[tuple[str, dt.date, float]] = []
    problems: list[str] = []
    for k, raw in enumerate(rows, start=1):
        where = f"line {raw['_line']}" if isinstance(raw, dict) and "_line" in raw else f"row {k}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: not an object with precinct_id, period, score")
            continue
        pid = str(raw.get("precinct_id") or "").strip()
        period_text = str(raw.get("period") or "").strip()
        score_raw = raw.get("score")
        if not pid:
            problems.append(f"{where}: precinct_id is empty")
            continue
        if pid not in known:
            problems.append(f"{where}: precinct {pid[:80]!r} is not in the city")
            continue
        try:
            period = (dt.date.fromisoformat(period_text + "-01") if len(period_text) == 7
                      else dt.date.fromisoformat(period_text))
        except ValueError:
            problems.append(f"{where}: period {period_text[:40]!r} is not a date like 2026-01-01 or a month like 2026-01")
            continue
        if not clock.FIRST_DAY <= period <= clock.LAST_DAY:
            problems.append(f"{where}: period {period_text!r} is not from {clock.FIRST_DAY} to {clock.LAST_DAY}")
            continue
        try:
            score = float(str(score_raw).strip().replace(",", ".")) if isinstance(score_raw, str) else float(score_raw)
        except (TypeError, ValueError):
            score = math.nan
        if isinstance(score_raw, bool) or not math.isfinite(score):
            problems.append(f"{where}: score {str(score_raw)[:40]!r} is not a finite number")
            continue
        good.append((pid, period, score))
    return good, problems


@bp.post("/workload/trust")
@access("planner")
def import_trust() -> Response:
    """Import public-trust survey results (CSV ``precinct_id,period,score`` or JSON rows); a row
    replaces the same precinct and period. Any bad row refuses the whole import (400, one
    line per bad row in ``problems``)."""
    import csv
    import tempfile
    from pathlib import Path

    limit = 5_000_000
    if request.mimetype in ("text/csv", "text/plain"):
        raw = request.get_data(cache=True)
        if len(raw) > limit:
            msg = f"the body is larger than {limit} bytes"
            raise InputError(msg)
        try:
            rows: list[Any] = _trust_rows_from_csv(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise InputError("the CSV is not UTF-8") from None
    else:
        doc = parse_json_body(max_bytes=limit)
        if not isinstance(doc.get("rows"), list) or set(doc) - {"rows"}:
            raise InputError("send {\"rows\": [{\"precinct_id\": ..., \"period\": ..., \"score\": ...}, ...]}")
        rows = doc["rows"]
    if not rows:
        raise InputError("no survey rows given")
    if len(rows) > MAX_TRUST_ROWS:
        msg = f"at most {MAX_TRUST_ROWS} rows in one import"
        raise InputError(msg)
    known = {str(p) for p in get_city().precincts["precinct_id"]}
    good, problems = check_trust_rows(rows, known)
    if problems:
        msg = f"{len(problems)} bad row(s); nothing was imported"
        raise InputError(msg, problems=problems[:100])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trust.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["precinct_id", "period", "score"])
            w.writerows([(p, d.isoformat(), repr(s)) for p, d, s in good])
        n = appeal_store().import_trust_csv(path)
    audit("workload.trust", record_type="trust_scores", outcome=f"{n} rows")
    resp = jsonify({"imported": n, "precincts": len({p for p, _, _ in good})})
    resp.status_code = 201
    return resp


class PilotBody(BaseModel):
    """A pilot precinct from a date (a new post opened, a new practice)."""

    model_config = ConfigDict(extra="forbid")
    precinct_id: str = Field(min_length=1, max_length=200)
    start: Day
    note: str | None = Field(default=None, max_length=200, description="what the pilot changed (no personal data)")


@bp.post("/workload/pilots")
@access("planner")
def mark_pilot() -> Response:
    """Mark a precinct as a pilot from ``start``; marking it again moves the date."""
    body = _model(PilotBody, parse_json_body())
    known = {str(p) for p in get_city().precincts["precinct_id"]}
    if body.precinct_id not in known:
        msg = f"precinct {body.precinct_id[:80]!r} is not in the city"
        raise InputError(msg)
    appeal_store().mark_pilot(body.precinct_id, body.start, note=body.note)
    audit("workload.pilot", record_type="pilot", record_id=body.precinct_id, outcome=body.start.isoformat())
    resp = jsonify({"precinct_id": body.precinct_id, "start": body.start.isoformat(), "note": body.note})
    resp.status_code = 201
    return resp


@bp.get("/workload/pilots/evaluation")
@access("planner")
def pilot_evaluation() -> Response:
    """Difference in differences of the pilots against the other precincts, with the caveat."""
    from geo_service.appeals.store import difference_in_differences

    unknown = set(request.args) - {"indicator"}
    if unknown:
        msg = f"unknown parameter(s): {', '.join(sorted(unknown))}"
        raise InputError(msg)
    indicator = request.args.get("indicator", "appeals")
    if indicator not in EVALUATION_INDICATORS:
        msg = f"indicator must be one of {', '.join(EVALUATION_INDICATORS)}"
        raise InputError(msg)
    store = appeal_store()
    pilots = store.pilot_starts()
    if not pilots:
        raise InputError("no pilot precincts are marked; POST /api/v1/workload/pilots first")
    ids = [str(p) for p in get_city().precincts["precinct_id"]]
    panel = evaluation_panel(indicator, store.frame(), store.trust_scores(), ids)
    result = difference_in_differences(panel, pilots)
    out = result.to_dict()
    return jsonify(json_safe({"indicator": indicator, "pilots": {k: v.isoformat() for k, v in pilots.items()},
                              **out}))


@bp.get("/workload/indicators.csv")
@access("planner")
def indicators_csv() -> Response:
    """The reform's monthly indicators per precinct as CSV: the months from ``from`` up to
    ``to`` (exclusive; a ``to`` inside a month keeps that month)."""
    from geo_service.workload.indicators import to_csv

    unknown = set(request.args) - {"from", "to"}
    if unknown:
        msg = f"unknown parameter(s): {', '.join(sorted(unknown))}"
        raise InputError(msg)
    start, end = parse_period()
    store = appeal_store()
    frame = monthly_indicators(store.frame(), store.trust_scores(), store.visit_frame())
    if start is not None:
        frame = frame[frame["period"] >= start.strftime("%Y-%m")]
    if end is not None:
        last = end.strftime("%Y-%m")
        frame = frame[frame["period"] < last] if end.day == 1 else frame[frame["period"] <= last]
    return Response(to_csv(frame), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="reform-indicators.csv"'})


def openapi_paths() -> dict[str, Any]:
    """The paths of this blueprint for the OpenAPI document."""
    from geo_service.web.openapi_parts import problems

    errors = problems(400, 401, 403, 404, 429, 503)
    auth = [{"bearer": []}, {"apiKey": []}]
    obj = {"type": "object"}

    def ok(status: str = "200", media: str = "application/json") -> dict[str, Any]:
        return {status: {"description": "OK", "content": {media: {"schema": obj if media.endswith("json")
                                                                   else {"type": "string"}}}}}

    def body(name: str) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}

    date = {"type": "string", "format": "date"}
    trust_body = {"type": "object", "additionalProperties": False, "required": ["rows"], "properties": {
        "rows": {"type": "array", "minItems": 1, "maxItems": MAX_TRUST_ROWS, "items": {
            "type": "object", "additionalProperties": False, "required": ["precinct_id", "period", "score"],
            "properties": {"precinct_id": {"type": "string", "minLength": 1, "maxLength": 200},
                           "period": {"type": "string", "description": "2026-01-01 or 2026-01", "maxLength": 10},
                           "score": {"type": "number"}}}}}}
    pilot_body = {"type": "object", "additionalProperties": False, "required": ["precinct_id", "start"], "properties": {
        "precinct_id": {"type": "string", "minLength": 1, "maxLength": 200}, "start": date,
        "note": {"type": ["string", "null"], "maxLength": 200}}}
    return {
        "/api/v1/workload": {"get": {
            "summary": "indicators and the workload index per precinct", "security": auth,
            "parameters": [{"name": "from", "in": "query", "schema": date}, {"name": "to", "in": "query", "schema": date},
                           {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": obj},
                                                                   "text/csv": {"schema": {"type": "string"}}}},
                          **errors}}},
        "/api/v1/workload/balance": {"post": {
            "summary": "propose balanced, contiguous precincts", "security": auth, "requestBody": body("BalanceBody"),
            "responses": {**ok("201"), **ok("202"), **errors}}},
        "/api/v1/workload/balance/{result_id}": {"get": {
            "summary": "a kept proposal, or its job (202 while it runs)", "security": auth,
            "parameters": [{"name": "result_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {**ok(), **ok("202"), **errors}}},
        "/api/v1/appeals": {
            "post": {"summary": "record a citizen's appeal", "security": auth, "requestBody": body("AppealBody"),
                     "responses": {**ok("201"), **errors}},
            "get": {"summary": "open appeals of the caller's precincts", "security": auth,
                    "parameters": [{"name": "precinct_id", "in": "query", "schema": {"type": "string"}}],
                    "responses": {**ok(), **errors}}},
        "/api/v1/appeals/{appeal_id}/status": {"post": {
            "summary": "move an appeal on", "security": auth, "requestBody": body("StatusBody"),
            "parameters": [{"name": "appeal_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {**ok(), **errors}}},
        "/api/v1/appeals/indicators": {"get": {
            "summary": "appeal processing times and preventive-register visits made on time, per precinct",
            "security": auth,
            "parameters": [{"name": "from", "in": "query", "schema": date}, {"name": "to", "in": "query", "schema": date}],
            "responses": {**ok(), **errors}}},
        "/api/v1/workload/trust": {"post": {
            "summary": "import public-trust survey results (CSV precinct_id,period,score, or JSON rows)",
            "security": auth,
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": trust_body},
                "text/csv": {"schema": {"type": "string", "description": "header precinct_id,period,score"}}}},
            "responses": {**ok("201"), **errors}}},
        "/api/v1/workload/pilots": {"post": {
            "summary": "mark a precinct as a pilot from a date", "security": auth,
            "requestBody": {"required": True, "content": {"application/json": {"schema": pilot_body}}},
            "responses": {**ok("201"), **errors}}},
        "/api/v1/workload/pilots/evaluation": {"get": {
            "summary": "difference in differences of the pilots against the other precincts (with the caveat)",
            "security": auth,
            "parameters": [{"name": "indicator", "in": "query", "schema": {"enum": list(EVALUATION_INDICATORS)}}],
            "responses": {**ok(), **errors}}},
        "/api/v1/workload/indicators.csv": {"get": {
            "summary": "the reform's monthly indicators per precinct (CSV)", "security": auth,
            "parameters": [{"name": "from", "in": "query", "schema": date}, {"name": "to", "in": "query", "schema": date}],
            "responses": {**ok(media="text/csv"), **errors}}},
    }

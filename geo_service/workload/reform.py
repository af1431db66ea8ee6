"""The reform's indicators, framework-free: monthly figures per precinct and city trends,
preventive-register visits made on time, public-trust survey rows, and the
difference-in-differences evaluation of pilot precincts (with its caveat)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_service import clock
from geo_service.clock import as_datetime
from geo_service.errors import InputError
from geo_service.routes.model import PREVENTIVE_REGISTER
from geo_service.workload.indicators import to_csv

#: Indicators a pilot evaluation compares (monthly, per precinct).
EVALUATION_INDICATORS = ("appeals", "first_contact_hours", "trust")


#: Columns of the monthly indicator export.
INDICATOR_COLUMNS = ("precinct_id", "period", "appeals_received", "appeals_closed", "first_contact_median_h",
                     "trust_score", "register_visits_due", "register_visits_on_time", "register_visits_share_on_time")


#: At most this many trust rows in one import.
MAX_TRUST_ROWS = 20_000


def _month(values: Any) -> Any:
    """Month starts (naive timestamps) of date-like values."""
    t = pd.to_datetime(values, utc=True, errors="coerce")
    return t.dt.tz_localize(None).dt.to_period("M").dt.to_timestamp()


def _visits_due(visits: Any, as_of: dt.date | None = None) -> Any:
    """Preventive-register visit records that count (made, or due before ``as_of``) with
    ``period`` (month of the due date) and ``on_time``."""
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


def city_trends(appeals: Any, trust: Any, visits: Any = None, *,
                months: int = 24) -> dict[str, list[tuple[str, float]]]:
    """City-wide trends for the dashboard: ``appeals`` (received per month, months without
    appeals as 0), ``first_contact_h`` (median hours to first contact of the month's
    appeals), ``trust`` (mean score per survey period), ``visits_on_time`` (percent of the
    preventive-register visits due in the month made on time); at most the last ``months``
    points."""
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


def trust_rows_from_csv(text_body: str) -> list[dict[str, Any]]:
    """Survey rows of a CSV body (header ``precinct_id,period,score``), each with its line
    number as ``_line``, for `check_trust_rows`."""
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
    good: list[tuple[str, dt.date, float]] = []
    problems: list[str] = []
    for k, raw in enumerate(rows, start=1):
        where = f"line {raw['_line']}" if isinstance(raw, dict) and "_line" in raw else f"row {k}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: not an object with precinct_id, period, score")
            continue
        pid = str(raw.get("precinct_id") or "").strip()
        period_text = str(raw.get("period") or "").strip()
        score_raw: Any = raw.get("score")  # any JSON value: checked below
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
            problems.append(f"{where}: period {period_text[:40]!r} is not a date like 2026-01-01 "
                            "or a month like 2026-01")
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


NOISE_CAVEAT = ("Caveat: precinct figures rest on small numbers; a difference of this size can arise by "
                "chance. Read it as a signal to look closer, not as proof of an effect.")


@dataclass(frozen=True)
class VisitRecord:
    """A preventive-register visit: due by ``due_date``, made on ``done_date`` (None: not yet)."""

    precinct_id: str
    due_date: date
    done_date: date | None = None
    inspector_id: str | None = None
    visit_id: str | None = None


def visits_on_time(visits: Iterable[VisitRecord] | pd.DataFrame, *, as_of: date | None = None,
                   grace_days: int = 0, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """Share of preventive-register visits made on time, per precinct.

    A visit counts when it was due in [start, end) and either was made or is overdue on
    ``as_of`` (default today); it is on time when ``done_date <= due_date + grace_days``.
    Returns ``precinct_id, due, on_time, late, missed, share_on_time``.
    """
    frame = visits if isinstance(visits, pd.DataFrame) else pd.DataFrame(
        [{"precinct_id": v.precinct_id, "due_date": v.due_date, "done_date": v.done_date} for v in visits],
        columns=["precinct_id", "due_date", "done_date"])
    cols = ["precinct_id", "due", "on_time", "late", "missed", "share_on_time"]
    if len(frame) == 0:
        return pd.DataFrame(columns=cols)
    as_of = as_of or clock.today()
    due = pd.to_datetime(frame["due_date"], errors="coerce")
    done = pd.to_datetime(frame["done_date"], errors="coerce")
    if due.isna().any():
        msg = f"{int(due.isna().sum())} visit record(s) have no valid due_date"
        raise InputError(msg)
    keep = np.array((done.notna() | (due < pd.Timestamp(as_of))).to_numpy(), dtype=bool)
    if start is not None:
        keep &= (due >= pd.Timestamp(start)).to_numpy()
    if end is not None:
        keep &= (due < pd.Timestamp(end)).to_numpy()
    f = pd.DataFrame({"precinct_id": frame["precinct_id"].astype(str), "due": due, "done": done})[keep]
    limit = f["due"] + pd.Timedelta(days=grace_days)
    f["on_time"] = f["done"].notna() & (f["done"] <= limit)
    f["late"] = f["done"].notna() & (f["done"] > limit)
    f["missed"] = f["done"].isna()
    g = f.groupby("precinct_id")
    out = pd.DataFrame({"due": g.size(), "on_time": g["on_time"].sum(), "late": g["late"].sum(),
                        "missed": g["missed"].sum()}).reset_index()
    out["share_on_time"] = out["on_time"] / out["due"]
    return out[cols]

# ----------------------------------------------------------------- difference in differences
@dataclass
class DidResult:
    """A difference-in-differences estimate with its caveat."""

    effect: float
    se: float
    ci95: tuple[float, float]
    n_pilot: int
    n_control: int
    cohorts: pd.DataFrame
    caveat: str = NOISE_CAVEAT

    def to_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None or not math.isfinite(v) else round(float(v), 4)

        return {"effect": r(self.effect), "se": r(self.se), "ci95": [r(self.ci95[0]), r(self.ci95[1])],
                "n_pilot": self.n_pilot, "n_control": self.n_control,
                "cohorts": self.cohorts.replace({np.nan: None}).to_dict(orient="records"), "caveat": self.caveat}

    def __str__(self) -> str:
        return (f"difference in differences: {self.effect:+.3f} (95% CI {self.ci95[0]:+.3f} .. {self.ci95[1]:+.3f}; "
                f"{self.n_pilot} pilot and {self.n_control} comparison precincts)\n{self.caveat}")


def difference_in_differences(panel: pd.DataFrame, pilots: dict[str, Any], *, value: str = "value",
                              period: str = "period", min_precincts: int = 10) -> DidResult:
    """Compare pilot precincts' change after their start with other precincts' change.

    For each cohort of pilots sharing a start date ``s``, every precinct with data both
    before (period < s) and after (period >= s) contributes its change
    ``mean(after) - mean(before)``; the cohort's estimate is the pilots' mean change minus
    the comparison precincts' (only never-pilot precincts compare, so a later cohort does
    not contaminate an earlier one's comparison). Cohorts are
    averaged weighted by their pilot counts; the standard error is Welch's for the two
    means of changes. With fewer than ``min_precincts`` precincts on either side the
    caveat says so louder.

    Parameters
    ----------
    panel
        One row per precinct and period: ``precinct_id``, ``period`` (date-like), ``value``.
    pilots
        precinct_id -> start date.
    """
    need = {"precinct_id", period, value}
    if not need <= set(panel.columns):
        msg = f"the panel needs columns {', '.join(sorted(need))}"
        raise InputError(msg)
    if not pilots:
        msg = "no pilot precincts given"
        raise InputError(msg)
    p = panel[["precinct_id", period, value]].copy()
    p["precinct_id"] = p["precinct_id"].astype(str)
    p["_t"] = pd.to_datetime(p[period], errors="coerce")
    p["_v"] = pd.to_numeric(p[value], errors="coerce")
    p = p.dropna(subset=["_t", "_v"])
    starts = {str(k): pd.Timestamp(as_datetime(v, "pilot start").date()) for k, v in pilots.items()}
    never = sorted(set(p["precinct_id"]) - set(starts))
    rows = []
    all_pilot_changes: list[float] = []
    all_control_changes: list[float] = []
    for s in sorted(set(starts.values())):
        members = [k for k, v in starts.items() if v == s]

        def changes(ids: list[str], s: pd.Timestamp = s) -> np.ndarray:
            sub = p[p["precinct_id"].isin(ids)]
            before = sub[sub["_t"] < s].groupby("precinct_id")["_v"].mean()
            after = sub[sub["_t"] >= s].groupby("precinct_id")["_v"].mean()
            both = before.index.intersection(after.index)
            return (after[both] - before[both]).to_numpy(dtype=np.float64)

        dp, dc = changes(members), changes(never)
        if len(dp) == 0 or len(dc) == 0:
            rows.append({"start": s.date().isoformat(), "pilots": len(dp), "controls": len(dc),
                         "pilot_change": np.nan, "control_change": np.nan, "effect": np.nan})
            continue
        rows.append({"start": s.date().isoformat(), "pilots": len(dp), "controls": len(dc),
                     "pilot_change": float(dp.mean()), "control_change": float(dc.mean()),
                     "effect": float(dp.mean() - dc.mean())})
        all_pilot_changes.extend(dp.tolist())
        all_control_changes.extend(dc.tolist())
    cohorts = pd.DataFrame(rows)
    ok = cohorts["effect"].notna() if len(cohorts) else pd.Series(dtype=bool)
    if not ok.any():
        msg = "no pilot precinct has data both before and after its start, with comparison precincts alike"
        raise InputError(msg)
    effect = float(np.average(cohorts.loc[ok, "effect"], weights=cohorts.loc[ok, "pilots"]))
    dp = np.asarray(all_pilot_changes)
    dc = np.asarray(all_control_changes)
    var_p = dp.var(ddof=1) / len(dp) if len(dp) > 1 else np.nan
    var_c = dc.var(ddof=1) / len(dc) if len(dc) > 1 else np.nan
    se = float(math.sqrt(var_p + var_c)) if np.isfinite(var_p) and np.isfinite(var_c) else float("nan")
    ci = (effect - 1.96 * se, effect + 1.96 * se) if math.isfinite(se) else (float("nan"), float("nan"))
    n_p, n_c = len(dp), len(set(never))
    caveat = NOISE_CAVEAT
    if n_p < min_precincts or n_c < min_precincts:
        caveat = (f"Caveat: only {n_p} pilot and {n_c} comparison precinct(s): too few for a reliable "
                  "estimate. " + NOISE_CAVEAT.removeprefix("Caveat: ").capitalize()[:1]
                  + NOISE_CAVEAT.removeprefix("Caveat: ")[1:])
    return DidResult(effect=effect, se=se, ci95=ci, n_pilot=n_p, n_control=n_c, cohorts=cohorts, caveat=caveat)


def monthly_panel(frame: pd.DataFrame, *, time_column: str, value_column: str | None = None,
                  how: str = "median") -> pd.DataFrame:
    """A precinct x month panel (``precinct_id, period, value``) from records: the median
    (or mean, count) of ``value_column`` per month of ``time_column``."""
    if len(frame) == 0:
        return pd.DataFrame(columns=["precinct_id", "period", "value"])
    t = pd.to_datetime(frame[time_column], utc=True).dt.tz_localize(None).dt.to_period("M").dt.to_timestamp()
    f = pd.DataFrame({"precinct_id": frame["precinct_id"].astype(str), "period": t})
    if how == "count" or value_column is None:
        return f.groupby(["precinct_id", "period"]).size().rename("value").reset_index()
    f["value"] = pd.to_numeric(frame[value_column], errors="coerce").to_numpy()
    agg = f.groupby(["precinct_id", "period"])["value"]
    out = agg.median() if how == "median" else agg.mean()
    return out.reset_index()


def write_csv(frame: pd.DataFrame, path: Path | str) -> None:
    """CSV export of an indicator table (formula-like text cells are quoted with ')."""
    to_csv(frame, path)

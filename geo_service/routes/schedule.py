"""Visits spread over days: recurring visits assigned to the days of a period, then routed.

Two steps.

1. Assignment, a mixed-integer programme solved by HiGHS (``highspy``). Every recurring
   visit becomes occurrences, each with a window of days in which it is on time (weekly
   domestic-violence follow-ups: one per 7 days; a preventive-register person: once per
   30 days, and so on). Binary ``x[o, d]`` puts occurrence ``o`` on day ``d``; consecutive
   occurrences of a visit stay at most ``every_days`` and at least ``min_gap_days`` apart;
   an occurrence may be dropped (``u[o]``) only at a penalty that grows with its priority
   class. Travel is estimated from the travel-time matrix: visits are grouped by
   complete-linkage clustering (every pair of a group within `GROUP_S` of each other), a
   group costs its round trip from the post on each day it is used (``y[g, d]``) and a
   visit costs its walk to its nearest group neighbour. The objective is total estimated
   travel plus a weight times the longest day, so days are balanced and nearby visits
   share a day. Each day's estimated load stays within `PLAN_SHARE` of its working time
   (the reception counts only on its weekdays) at a cost per minute beyond, and visits
   sharing a time window fit in it. HiGHS starts from the naive assignment and stops at
   its time limit; a balancing pass (`balance`) then moves occurrences off the busiest
   days and places any left out, never making the objective worse.
2. Routing: every day is planned with `geo_service.routes.day.plan_day`.

Visits that cannot be kept on time are reported with the reason: all days of their window
are days off, they were overdue before the period started, no day in their window has
room, or they did not fit in the day's route.

`naive_schedule` is the baseline the benchmark compares against: occurrences in due-date
order, each on the first day of its window with room.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geo_service.errors import InputError
from geo_service.routes.day import DayPlan, Shift, TravelMode, Visit, plan_day, validate

logger = logging.getLogger(__name__)

#: The polish budget of each day's route in a schedule (a day plan alone gets up to 0.45 s).
DAY_POLISH_S = 0.08

#: Visits within this travel time of each other (both ways, every pair) form a group.
GROUP_S = 600
#: Penalty (minutes-equivalent) for dropping an occurrence of each priority class.
DROP_PENALTY = {1: 100_000.0, 2: 20_000.0, 3: 5_000.0, 4: 1_000.0}
#: Share of a group's round trip from the post charged to each day it is visited: a day's
#: route chains its groups instead of returning to the post between them (measured on the
#: benchmark's 30-day Almaty schedule, routed travel is about half the sum of round trips).
GROUP_TRIP_SHARE = 0.5
#: Share of a time window's length that visits sharing it can fill on one day (the rest goes
#: to walking between groups, which the per-visit estimate leaves out).
WINDOW_ROOM_SHARE = 1.0
#: Share of the working minutes the assignment fills: the rest absorbs waiting for windows
#: and the walking the estimate misses, so the day's route keeps what was assigned. On the
#: benchmark's 30-day schedule 0.8 / 0.9 / 1.0 gave a longest day of 0.94 / 0.99 / 1.01 of
#: the naive one and total travel of 0.73 / 0.65 / 0.62 of it, with the same visits missed.
PLAN_SHARE = 0.8
#: Weight of the longest day against total travel in the objective.
BALANCE_WEIGHT = 3.0
#: Cost of a minute of estimated load beyond the shift.
OVERTIME_PENALTY = 50.0
MAX_PERIOD_DAYS = 92
MAX_RECURRING = 2_000


@dataclass
class RecurringVisit:
    """A visit that recurs over the period.

    Parameters
    ----------
    visit
        Place, minutes on site, priority class, time windows on the day, label.
    every_days
        At most this many days between visits (7 for weekly domestic-violence follow-ups).
    per_month
        Visits a month (1 for the preventive register); read as every ``30 // per_month`` days.
    due
        The date by which the next visit is due (defaults to the end of the first interval).
        A one-off visit (no frequency) is due by this date or the end of the period.
    min_gap_days
        At least this many days between two visits of the same person.
    """

    visit: Visit
    every_days: int | None = None
    per_month: int | None = None
    due: dt.date | None = None
    min_gap_days: int = 1

    def interval(self) -> int | None:
        if self.every_days:
            return int(self.every_days)
        if self.per_month:
            return max(1, 30 // int(self.per_month))
        return None


@dataclass
class Occurrence:
    """One visit of a recurring visit: its on-time window of day indices."""

    rv: int  # index of the recurring visit
    seq: int  # 0, 1, ... within the recurring visit
    due: dt.date
    days: list[int]  # allowed day indices
    late: bool = False  # the window had to be moved after the due date (days off / overdue)
    note: str = ""


@dataclass
class Missed:
    """An occurrence that is late or not kept, and why."""

    visit_id: str
    label: str
    priority: int
    due: dt.date
    reason: str
    scheduled: dt.date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"visit_id": self.visit_id, "label": self.label, "priority": self.priority,
                "due": self.due.isoformat(), "reason": self.reason,
                "scheduled": self.scheduled.isoformat() if self.scheduled else None}


@dataclass
class ScheduledDay:
    date: dt.date
    visit_ids: list[str]
    estimate_min: float
    plan: DayPlan | None = None
    #: The due date of the occurrence each visit of the day stands for.
    due: dict[str, dt.date] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "visit_ids": list(self.visit_ids),
                "estimate_min": round(self.estimate_min, 1),
                "due": {k: v.isoformat() for k, v in self.due.items()},
                "plan": self.plan.to_dict() if self.plan else None}


@dataclass
class Schedule:
    start_date: dt.date
    days: list[ScheduledDay]
    missed: list[Missed]
    solver: dict[str, Any] = field(default_factory=dict)

    def totals(self) -> dict[str, float]:
        """Routed figures: total travel, longest day (first departure to return), visits made."""
        plans = [d.plan for d in self.days if d.plan is not None and d.plan.visit_ids]
        travel = sum(p.totals()["travel_min"] for p in plans)
        work = [p.totals()["travel_min"] + p.totals()["service_min"] for p in plans]
        return {"travel_min": round(travel, 1), "max_day_work_min": round(max(work, default=0.0), 1),
                "max_day_min": round(max((p.totals()["day_min"] for p in plans), default=0.0), 1),
                "visits": sum(len(p.visit_ids) for p in plans), "missed": len(self.missed),
                "days_used": len(plans)}

    def to_dict(self) -> dict[str, Any]:
        return {"start_date": self.start_date.isoformat(), "days": [d.to_dict() for d in self.days],
                "missed": [m.to_dict() for m in self.missed], "totals": self.totals(),
                "solver": dict(self.solver)}


# -- occurrences -----------------------------------------------------------------------------------

def _check(visits: list[RecurringVisit], days: int, shift: Shift, mode: str) -> None:
    if not (1 <= days <= MAX_PERIOD_DAYS):
        msg = f"a schedule covers 1 to {MAX_PERIOD_DAYS} days, not {days}"
        raise InputError(msg)
    if len(visits) > MAX_RECURRING:
        msg = f"{len(visits)} recurring visits: at most {MAX_RECURRING} fit in one schedule"
        raise InputError(msg)
    for i, rv in enumerate(visits):
        if not isinstance(rv, RecurringVisit):
            msg = f"visit {i + 1}: not a RecurringVisit"
            raise InputError(msg)
        k = rv.interval()
        if k is not None and k < 1:
            msg = f"visit {i + 1}: the frequency must be positive"
            raise InputError(msg)
        if rv.min_gap_days < 0 or (k is not None and rv.min_gap_days > k):
            msg = f"visit {i + 1}: min_gap_days {rv.min_gap_days} cannot exceed the interval of {k} days"
            raise InputError(msg)
    validate([rv.visit for rv in visits], shift, mode, limit=MAX_RECURRING)


def occurrences(visits: list[RecurringVisit], start_date: dt.date, days: int, off: set[int]
                ) -> tuple[list[Occurrence], list[tuple[int, dt.date, str]]]:
    """The occurrences due in the period, and the ones that cannot be kept at all."""
    out: list[Occurrence] = []
    lost: list[tuple[int, dt.date, str]] = []
    work = [d for d in range(days) if d not in off]
    last = start_date + dt.timedelta(days=days - 1)

    def day(i: int) -> dt.date:
        return start_date + dt.timedelta(days=i)

    for r, rv in enumerate(visits):
        k = rv.interval()
        if k is None:
            due = rv.due or last
            dues = [due]
            k_eff = days
        else:
            due = rv.due or (start_date + dt.timedelta(days=k - 1))
            dues = []
            d = due
            while d <= last:
                dues.append(d)
                d += dt.timedelta(days=k)
            k_eff = k
        for seq, due in enumerate(dues):
            hi = (due - start_date).days
            lo = max(0, hi - k_eff + 1) if k is not None else 0
            note = ""
            late = False
            if hi < 0:
                late = True
                note = f"overdue since {due.isoformat()}, before the period starts"
                lo, hi = 0, min(days - 1, (k or 3) - 1)
            allowed = [d for d in range(lo, hi + 1) if d not in off]
            if not allowed:
                later = [d for d in work if d > hi]
                if not later:
                    lost.append((r, due, f"every day from {day(lo).isoformat()} to {day(hi).isoformat()} "
                                         "is a day off and no working day follows in the period"))
                    continue
                late = True
                note = (f"every day from {day(lo).isoformat()} to {day(hi).isoformat()} is a day off; "
                        f"moved to {day(later[0]).isoformat()}")
                allowed = later[:1]
            out.append(Occurrence(rv=r, seq=seq, due=due, days=allowed, late=late, note=note))
    return out, lost


# -- travel estimate -----------------------------------------------------------------------------

@dataclass
class _Estimate:
    group: np.ndarray  # group of every recurring visit
    group_cost_min: np.ndarray  # round trip post -> group medoid -> post, minutes
    own_min: np.ndarray  # travel of a visit within its group (to its nearest neighbour), minutes
    reach_min: np.ndarray  # post -> visit -> post round trip, minutes (inf unreachable)


def estimate(city: Any, post: tuple[float, float], visits: list[RecurringVisit], mode: str) -> _Estimate:
    """Group visits by travel time and estimate the travel each group and visit costs."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    gmode = "walk" if mode == "drive_walk" else mode
    graph = city.graph(gmode)
    lat = np.array([post[0]] + [rv.visit.lat for rv in visits])
    lon = np.array([post[1]] + [rv.visit.lon for rv in visits])
    nodes, _ = graph.snap_many(lat, lon)
    uniq, inv = np.unique(nodes, return_inverse=True)
    m = graph.matrix(uniq, uniq)[np.ix_(inv, inv)]
    n = len(visits)
    reach = (m[0, 1:] + m[1:, 0]) / 60
    if n == 0:
        return _Estimate(np.zeros(0, int), np.zeros(0), np.zeros(0), np.zeros(0))
    w = m[1:, 1:]
    sym = np.maximum(w, w.T)
    sym = np.where(np.isfinite(sym), sym, 1e9)
    np.fill_diagonal(sym, 0.0)
    if n > 1:
        labels = fcluster(linkage(squareform(sym, checks=False), method="complete"), t=GROUP_S,
                          criterion="distance") - 1
    else:
        labels = np.zeros(1, dtype=np.int64)
    ng = int(labels.max()) + 1
    cost = np.zeros(ng)
    own = np.zeros(n)
    for g in range(ng):
        mem = np.flatnonzero(labels == g)
        sub = sym[np.ix_(mem, mem)]
        med = mem[int(np.argmin(sub.sum(axis=1)))]
        rt = m[0, 1 + med] + m[1 + med, 0]
        cost[g] = GROUP_TRIP_SHARE * rt / 60 if np.isfinite(rt) else 1e4
        if len(mem) > 1:
            s2 = sub + np.diag(np.full(len(mem), np.inf))
            own[mem] = s2.min(axis=1) / 60
    return _Estimate(group=labels, group_cost_min=cost, own_min=own, reach_min=reach)


# -- assignment ---------------------------------------------------------------------------------------

def _capacity(shift: Shift) -> float:
    return max(0.0, PLAN_SHARE * shift.working_min())


def _window_room(v: Visit) -> tuple[tuple[tuple[int, int], ...], float] | None:
    """The visit's windows as a key, and the minutes of on-site work that visits with these
    windows can take in one day (every service must start in a window: the windows' length
    plus one service, times `WINDOW_ROOM_SHARE`), or None for a visit without windows."""
    if not v.time_windows:
        return None
    key = tuple((int(s), int(e)) for s, e in v.time_windows)
    return key, WINDOW_ROOM_SHARE * float(sum(e - s for s, e in key))


def _capacities(shift: Shift, days: int, caps: np.ndarray | None) -> np.ndarray:
    """Minutes for visits and travel on each day (the reception only takes time on its days)."""
    if caps is not None:
        return np.asarray(caps, dtype=np.float64)
    return np.full(days, _capacity(shift))


def assign_mip(occ: list[Occurrence], visits: list[RecurringVisit], est: _Estimate, days: int,
               shift: Shift, *, time_limit: float = 6.0, gap: float = 0.02,
               start: dict[int, int] | None = None, caps: np.ndarray | None = None
               ) -> tuple[dict[int, int], dict[str, Any]]:
    """Assign occurrences to days with HiGHS. Returns {occurrence index: day} and solver facts."""
    import highspy

    from geo_service.solvers.highs import silent_highs as _highs

    t0 = time.perf_counter()
    h = _highs()  # silent: the public constructor prints a banner to stdout
    cap_d = _capacities(shift, days, caps)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(gap))
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 1)
    inf = highspy.kHighsInf
    costs: list[float] = []
    lower: list[float] = []
    upper: list[float] = []
    integer: list[int] = []

    def var(cost: float, lb: float = 0.0, ub: float = 1.0, is_int: bool = True) -> int:
        costs.append(cost)
        lower.append(lb)
        upper.append(ub)
        if is_int:
            integer.append(len(costs) - 1)
        return len(costs) - 1

    rows_lo: list[float] = []
    rows_hi: list[float] = []
    starts: list[int] = []
    idx: list[int] = []
    val: list[float] = []

    def row(cols: Iterable[int], coefs: Iterable[float], lo: float, hi: float) -> None:
        starts.append(len(idx))
        idx.extend(cols)
        val.extend(coefs)
        rows_lo.append(lo)
        rows_hi.append(hi)

    x: list[dict[int, int]] = []
    u: list[int] = []
    load_cols: dict[int, list[tuple[int, float]]] = {d: [] for d in range(days)}
    gy: dict[tuple[int, int], int] = {}
    win_cols: dict[tuple[Any, int], list[tuple[int, float, float]]] = {}
    for o in occ:
        rv = visits[o.rv]
        prio = rv.visit.priority
        work = rv.visit.service_min + float(est.own_min[o.rv])
        xs = {}
        wr = _window_room(rv.visit)
        for d in o.days:
            xs[d] = var(0.001 * d)  # a slight pull toward earlier days (ties only)
            load_cols[d].append((xs[d], work))
            if wr is not None:
                win_cols.setdefault((wr[0], d), []).append((xs[d], work, wr[1] + rv.visit.service_min))
            g = int(est.group[o.rv])
            key = (g, d)
            if key not in gy:
                gy[key] = var(float(est.group_cost_min[g]))
                load_cols[d].append((gy[key], float(est.group_cost_min[g])))
            row([xs[d], gy[key]], [1.0, -1.0], -inf, 0.0)  # x <= y
        x.append(xs)
        u.append(var(DROP_PENALTY[prio]))
        row(list(xs.values()) + [u[-1]], [1.0] * (len(xs) + 1), 1.0, 1.0)
    # Longest day; the estimated load may pass the shift only at a cost (the day's route
    # then leaves out the least important visits, with reasons).
    big_l = var(BALANCE_WEIGHT, 0.0, inf, is_int=False)
    over: dict[int, int] = {}
    for d in range(days):
        if load_cols[d]:
            cols = [c for c, _ in load_cols[d]]
            coefs = [w for _, w in load_cols[d]]
            row(cols + [big_l], coefs + [-1.0], -inf, 0.0)
            over[d] = var(OVERTIME_PENALTY, 0.0, inf, is_int=False)
            row(cols + [over[d]], coefs + [-1.0], -inf, float(cap_d[d]))
    # Visits that share time windows: their work on a day fits in the windows (plus the
    # last one's service), else the day's route would leave some out.
    for cols_w in win_cols.values():
        if sum(w for _, w, _ in cols_w) > min(r for _, _, r in cols_w):
            row([c for c, _, _ in cols_w], [w for _, w, _ in cols_w], -inf, max(r for _, _, r in cols_w))
    # Gaps between consecutive occurrences of the same visit.
    by_rv: dict[int, list[int]] = {}
    for i, o in enumerate(occ):
        by_rv.setdefault(o.rv, []).append(i)
    for r, ids in by_rv.items():
        g = max(1, visits[r].min_gap_days)
        for a, b in zip(ids, ids[1:]):
            # Occurrence windows are consecutive slots; only days near their border can clash.
            for da, ca in x[a].items():
                for db, cb in x[b].items():
                    if db - da < g:
                        row([ca, cb], [1.0, 1.0], -inf, 1.0)
    n = len(costs)
    h.addVars(n, np.array(lower), np.array(upper))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.array(costs))
    if integer:
        h.changeColsIntegrality(len(integer), np.array(integer, dtype=np.int32),
                                np.full(len(integer), highspy.HighsVarType.kInteger))
    if starts:
        h.addRows(len(starts), np.array(rows_lo), np.array(rows_hi), len(idx), np.array(starts, dtype=np.int32),
                  np.array(idx, dtype=np.int32), np.array(val))
    if start is not None:
        # Warm start (a feasible assignment, e.g. the naive one) so that the solver never
        # returns worse than it.
        val0 = np.zeros(n)
        load = np.zeros(days)
        for i, xs in enumerate(x):
            d = start.get(i)
            if d is None or d not in xs:
                val0[u[i]] = 1.0
                continue
            val0[xs[d]] = 1.0
        for i, xs in enumerate(x):
            d = start.get(i)
            if d is not None and d in xs:
                g = int(est.group[occ[i].rv])
                load[d] += visits[occ[i].rv].visit.service_min + float(est.own_min[occ[i].rv])
                if val0[gy[(g, d)]] == 0.0:
                    val0[gy[(g, d)]] = 1.0
                    load[d] += float(est.group_cost_min[g])
        val0[big_l] = float(load.max(initial=0.0))
        for d, c in over.items():
            val0[c] = max(0.0, float(load[d]) - float(cap_d[d]))
        hs = highspy.HighsSolution()
        hs.col_value = val0.tolist()
        hs.value_valid = True
        h.setSolution(hs)
    h.run()
    status = h.getModelStatus()
    sol = np.array(h.getSolution().col_value) if h.getInfo().primal_solution_status else None
    facts = {"engine": "highs", "status": h.modelStatusToString(status), "variables": n, "rows": len(starts),
             "seconds": round(time.perf_counter() - t0, 3)}
    if sol is None or len(sol) != n:
        msg = "the schedule could not be solved in the time allowed; try a shorter period"
        raise InputError(msg, detail=f"HiGHS status {facts['status']}")
    info = h.getInfo()
    facts["objective"] = round(float(info.objective_function_value), 2)
    facts["mip_gap"] = round(float(info.mip_gap), 4)
    out: dict[int, int] = {}
    for i, xs in enumerate(x):
        for d, c in xs.items():
            if sol[c] > 0.5:
                out[i] = d
                break
    return out, facts


def balance(where: dict[int, int], occ: list[Occurrence], visits: list[RecurringVisit], est: _Estimate,
            days: int, shift: Shift, *, max_moves: int = 2_000, caps: np.ndarray | None = None
            ) -> tuple[dict[int, int], int]:
    """Even out the days of an assignment: move occurrences off the busiest days.

    The assignment objective (estimated travel + `BALANCE_WEIGHT` x the longest day +
    `OVERTIME_PENALTY` x load beyond the shift) is evaluated exactly for each move of an
    occurrence to another day of its on-time window that keeps the visit's gaps and its
    window room; days are tried busiest first and the best improving move of the first day
    that has one is made, until none improves. Occurrences left out are then placed where
    they cost less than their drop penalty. The MIP stops at
    its time limit with a weak bound on the longest day, and this pass closes that gap
    without ever making the objective worse. Returns the new assignment and the moves made.
    """
    cap = _capacities(shift, days, caps)
    where = dict(where)
    work = np.array([visits[o.rv].visit.service_min + float(est.own_min[o.rv]) for o in occ])
    grp = np.array([int(est.group[o.rv]) for o in occ], dtype=np.int64)
    gcost = est.group_cost_min
    load = np.zeros(days)
    count: dict[tuple[int, int], int] = {}
    on_day: dict[int, set[int]] = {d: set() for d in range(days)}
    for i, d in where.items():
        on_day[d].add(i)
        key = (int(grp[i]), d)
        if count.get(key, 0) == 0:
            load[d] += gcost[grp[i]]
        count[key] = count.get(key, 0) + 1
        load[d] += work[i]
    by_rv: dict[int, list[int]] = {}
    for i, o in enumerate(occ):
        by_rv.setdefault(o.rv, []).append(i)
    pos = {i: k for ids in by_rv.values() for k, i in enumerate(ids)}
    wroom = [_window_room(visits[o.rv].visit) for o in occ]
    wload: dict[tuple[Any, int], float] = {}
    for i, d in where.items():
        if wroom[i] is not None:
            wload[(wroom[i][0], d)] = wload.get((wroom[i][0], d), 0.0) + work[i]

    def over(x: float, d: int) -> float:
        return OVERTIME_PENALTY * max(0.0, x - float(cap[d]))

    def allowed(i: int, d2: int) -> bool:
        """Day ``d2`` keeps the gaps to the visit's neighbouring occurrences, and the visit
        is not on that day already."""
        o = occ[i]
        g = max(1, visits[o.rv].min_gap_days)
        ids = by_rv[o.rv]
        k = pos[i]
        prev_d = where.get(ids[k - 1]) if k > 0 else None
        next_d = where.get(ids[k + 1]) if k + 1 < len(ids) else None
        if (prev_d is not None and d2 - prev_d < g) or (next_d is not None and next_d - d2 < g):
            return False
        wr = wroom[i]
        if wr is not None and wload.get((wr[0], d2), 0.0) + work[i] > wr[1] + visits[o.rv].visit.service_min:
            return False  # no room left in the windows that day
        return not any(occ[j].rv == o.rv for j in on_day[d2])

    def place(i: int, d2: int, add: float) -> None:
        if wroom[i] is not None:
            wload[(wroom[i][0], d2)] = wload.get((wroom[i][0], d2), 0.0) + work[i]
        load[d2] += add
        count[(int(grp[i]), d2)] = count.get((int(grp[i]), d2), 0) + 1
        on_day[d2].add(i)
        where[i] = d2

    moves = 0
    while moves < max_moves:
        order = np.argsort(-load)[:3].tolist()
        top = float(load[order[0]])

        def max_without(a: int, b: int, order: list[int] = order) -> float:
            return next((float(load[d]) for d in order if d not in (a, b)), 0.0)

        best: tuple[float, int, int, float, float] | None = None
        # The busiest days first; the first day with an improving move gives the move.
        for src in np.argsort(-load).tolist():
            for i in on_day[src]:
                out = work[i] + (gcost[grp[i]] if count[(int(grp[i]), src)] == 1 else 0.0)
                new_src = float(load[src]) - out
                for d2 in occ[i].days:
                    if d2 == src or not allowed(i, d2):
                        continue
                    add = work[i] + (gcost[grp[i]] if count.get((int(grp[i]), d2), 0) == 0 else 0.0)
                    l2 = float(load[d2]) + add
                    new_max = max(new_src, l2, max_without(src, d2))
                    delta = (add - out + BALANCE_WEIGHT * (new_max - top)
                             + over(new_src, src) - over(float(load[src]), src)
                             + over(l2, d2) - over(float(load[d2]), d2))
                    if delta < -1e-6 and (best is None or delta < best[0]):
                        best = (delta, i, d2, out, add)
            if best is not None:
                break
        if best is None:
            break
        _, i, d2, out, add = best
        d = where[i]
        load[d] -= out
        if wroom[i] is not None:
            wload[(wroom[i][0], d)] -= work[i]
        count[(int(grp[i]), d)] -= 1
        on_day[d].discard(i)
        place(i, d2, add)
        moves += 1
    # Occurrences left out (the MIP stopped at its time limit): put each, most important
    # first, on the day of its window where it costs least, when that costs less than
    # dropping it (the same objective; past the shift, the day's route then leaves out the
    # least important visits, with reasons).
    for i in sorted((i for i in range(len(occ)) if i not in where),
                    key=lambda i: (visits[occ[i].rv].visit.priority, occ[i].due)):
        options = []
        for d2 in occ[i].days:
            if not allowed(i, d2):
                continue
            add = work[i] + (gcost[grp[i]] if count.get((int(grp[i]), d2), 0) == 0 else 0.0)
            l2 = float(load[d2]) + add
            cost = (add + BALANCE_WEIGHT * max(0.0, l2 - float(load.max())) + over(l2, d2)
                    - over(float(load[d2]), d2))
            options.append((cost, d2, add))
        if options and min(options)[0] < DROP_PENALTY[visits[occ[i].rv].visit.priority]:
            _, d2, add = min(options)
            place(i, d2, add)
            moves += 1
    return where, moves


def assign_naive(occ: list[Occurrence], visits: list[RecurringVisit], est: _Estimate, days: int, shift: Shift,
                 *, caps: np.ndarray | None = None) -> dict[int, int]:
    """First come, first served: by due date, each occurrence on the first day with room."""
    cap = _capacities(shift, days, caps)
    load = np.zeros(days)
    last_day: dict[int, int] = {}
    out: dict[int, int] = {}
    for i in sorted(range(len(occ)), key=lambda i: (occ[i].due, occ[i].rv, occ[i].seq)):
        o = occ[i]
        rv = visits[o.rv]
        need = rv.visit.service_min + 10.0  # a flat travel allowance per visit (first come, first served)
        gap = max(1, rv.min_gap_days)
        for d in o.days:
            if o.rv in last_day and d - last_day[o.rv] < gap:
                continue
            if load[d] + need <= cap[d]:
                out[i] = d
                load[d] += need
                last_day[o.rv] = d
                break
    return out


# -- the schedule -----------------------------------------------------------------------------------

def schedule_period(city: Any, *, start_date: dt.date, days: int, visits: list[RecurringVisit],
                    post: tuple[float, float], shift: Shift, days_off: Iterable[dt.date] = (),
                    mode: TravelMode = "walk", reception_weekdays: Iterable[int] | None = None,
                    method: str = "mip", time_limit: float = 6.0, exploration: int = 3,
                    polish_s: float = DAY_POLISH_S) -> Schedule:
    """Spread recurring visits over the days of a period, balancing the days, and route each day.

    Parameters
    ----------
    city
        A loaded `CityBundle`.
    start_date, days
        The period: ``days`` days from ``start_date``.
    visits
        Recurring visits (frequency, due date, minimum gap).
    post
        ``(lat, lon)`` where every day starts and ends.
    shift
        The daily shift; its reception block is held on ``reception_weekdays`` (0 = Monday;
        None: every working day).
    days_off
        Dates without a shift.
    method
        ``mip`` (HiGHS) or ``naive`` (first come, first served; the benchmark baseline).
    time_limit
        Seconds for the assignment solver (it keeps the best assignment found).
    exploration
        VROOM exploration level for each day's route.
    polish_s
        PyVRP polish budget of each day's route (seconds; `DAY_POLISH_S` keeps a 30-day
        schedule within its 10 s, 0 turns it off).
    """
    t0 = time.perf_counter()
    if not isinstance(start_date, dt.date):
        msg = "start_date must be a date"
        raise InputError(msg)
    _check(visits, days, shift, mode)
    if method not in ("mip", "naive"):
        msg = f"unknown schedule method {method!r}; use mip or naive"
        raise InputError(msg)
    off = {(d - start_date).days for d in days_off}
    off = {d for d in off if 0 <= d < days}
    occ, lost = occurrences(visits, start_date, days, off)
    est = estimate(city, post, visits, mode)
    t_est = time.perf_counter() - t0
    missed: list[Missed] = []

    def miss(r: int, due: dt.date, reason: str, when: dt.date | None = None) -> None:
        v = visits[r].visit
        missed.append(Missed(v.id, v.label, v.priority, due, reason, when))

    for r, due, reason in lost:
        miss(r, due, reason)
    # Visits that cannot be reached at all are not assigned.
    usable = []
    for i, o in enumerate(occ):
        if not math.isfinite(float(est.reach_min[o.rv])):
            miss(o.rv, o.due, "no road connection between the post and the visit")
        else:
            usable.append(i)
    occ_u = [occ[i] for i in usable]
    recep_days = None if reception_weekdays is None else set(reception_weekdays)

    def day_shift(d: int) -> Shift:
        date = start_date + dt.timedelta(days=d)
        held = recep_days is None or date.weekday() in recep_days
        return Shift(shift.start_min, shift.end_min, list(shift.breaks), shift.reception if held else None)

    caps = np.array([_capacity(day_shift(d)) for d in range(days)])
    full = np.array([max(0.0, day_shift(d).working_min()) for d in range(days)])
    if method == "mip":
        naive = assign_naive(occ_u, visits, est, days, shift, caps=caps)
        where, facts = assign_mip(occ_u, visits, est, days, shift, time_limit=time_limit, start=naive, caps=caps)
        where, facts["balance_moves"] = balance(where, occ_u, visits, est, days, shift, caps=caps)
    else:
        # The baseline fills each day's whole working time, first come first served.
        where, facts = assign_naive(occ_u, visits, est, days, shift, caps=full), {"engine": "naive"}
    t_assign = time.perf_counter() - t0 - t_est
    per_day: dict[int, list[int]] = {d: [] for d in range(days)}
    for i, o in enumerate(occ_u):
        d = where.get(i)
        when = start_date + dt.timedelta(days=d) if d is not None else None
        if d is None:
            lo = start_date + dt.timedelta(days=min(o.days))
            hi = start_date + dt.timedelta(days=max(o.days))
            miss(o.rv, o.due, f"no day from {lo.isoformat()} to {hi.isoformat()} has room in the shift "
                              "for it after more important visits")
            continue
        if o.late:
            miss(o.rv, o.due, o.note, when)
        per_day[d].append(i)
    out_days: list[ScheduledDay] = []
    for d in range(days):
        date = start_date + dt.timedelta(days=d)
        if d in off:
            continue
        ids = per_day[d]
        day_visits = []
        seen: set[str] = set()
        for i in ids:
            v = visits[occ_u[i].rv].visit
            if v.id in seen:  # the same person twice on one day cannot happen (gap >= 1), but be safe
                continue
            seen.add(v.id)
            day_visits.append(Visit(id=v.id, lat=v.lat, lon=v.lon, service_min=v.service_min, priority=v.priority,
                                    time_windows=list(v.time_windows), label=v.label))
        groups = {int(est.group[occ_u[i].rv]) for i in ids}
        est_min = (sum(visits[occ_u[i].rv].visit.service_min + est.own_min[occ_u[i].rv] for i in ids)
                   + sum(est.group_cost_min[g] for g in groups))
        plan = plan_day(city, start=post, visits=day_visits, shift=day_shift(d), mode=mode, exploration=exploration,
                        polish_s=polish_s)
        by_id = {visits[occ_u[i].rv].visit.id: occ_u[i] for i in ids}
        for u in plan.unassigned:
            o = by_id[u.visit_id]
            miss(o.rv, o.due, f"assigned to {date.isoformat()} but left out of that day's route: {u.reason}")
        out_days.append(ScheduledDay(date=date, visit_ids=plan.visit_ids, estimate_min=float(est_min), plan=plan,
                                     due={vid: by_id[vid].due for vid in plan.visit_ids}))
    facts.update({"estimate_s": round(t_est, 3), "assign_s": round(t_assign, 3),
                  "total_s": round(time.perf_counter() - t0, 3), "occurrences": len(occ),
                  "groups": int(est.group.max()) + 1 if len(est.group) else 0, "method": method})
    logger.info("schedule: %d days, %d occurrences, %d missed, %.2f s", days, len(occ), len(missed),
                facts["total_s"])
    return Schedule(start_date=start_date, days=out_days, missed=missed, solver=facts)


__all__ = ["RecurringVisit", "Occurrence", "Missed", "ScheduledDay", "Schedule", "schedule_period", "occurrences",
           "assign_mip", "assign_naive", "balance", "estimate"]

"""Step 1 of a schedule: recurring visits, their travel estimate, and the assignment of their
occurrences to days (the HiGHS MIP, the balancing pass and the naive baseline).

See `geo_service.routes.schedule` for the method; step 2 routes each day.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geo_service.errors import InputError
from geo_service.routes.model import Shift, Visit
from geo_service.solvers.highs import silent_highs

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
class Estimate:
    """The travel estimate of the assignment: groups of nearby visits and what they cost."""

    group: np.ndarray  # group of every recurring visit
    group_cost_min: np.ndarray  # round trip post -> group medoid -> post, minutes
    own_min: np.ndarray  # travel of a visit within its group (to its nearest neighbour), minutes
    reach_min: np.ndarray  # post -> visit -> post round trip, minutes (inf unreachable)


def estimate(city: Any, post: tuple[float, float], visits: list[RecurringVisit], mode: str) -> Estimate:
    """Group visits by travel time and estimate the travel each group and visit costs."""
    from scipy.cluster.hierarchy import fcluster, linkage  # noqa: PLC0415 - loaded on first use (start-up time)
    from scipy.spatial.distance import squareform  # noqa: PLC0415 - loaded on first use (start-up time)

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
        return Estimate(np.zeros(0, int), np.zeros(0), np.zeros(0), np.zeros(0))
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
    return Estimate(group=labels, group_cost_min=cost, own_min=own, reach_min=reach)


def capacity(shift: Shift) -> float:
    """Minutes of a day's working time the assignment fills (`PLAN_SHARE` of it)."""
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
    return np.full(days, capacity(shift))


@dataclass
class _AssignMip:
    """The assignment MIP as HiGHS takes it (columns, rows in CSR form) and which column is which."""

    costs: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    rows_lo: list[float] = field(default_factory=list)
    rows_hi: list[float] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    idx: list[int] = field(default_factory=list)
    val: list[float] = field(default_factory=list)
    #: ``x[o][d]``: occurrence ``o`` on day ``d``; ``u[o]``: dropped; ``gy[g, d]``: group ``g`` used on ``d``.
    x: list[dict[int, int]] = field(default_factory=list)
    u: list[int] = field(default_factory=list)
    gy: dict[tuple[int, int], int] = field(default_factory=dict)
    #: The longest day, and each day's minutes beyond its capacity.
    big_l: int = -1
    over: dict[int, int] = field(default_factory=dict)

    def var(self, cost: float, lb: float = 0.0, ub: float = 1.0, is_int: bool = True) -> int:
        self.costs.append(cost)
        self.lower.append(lb)
        self.upper.append(ub)
        if is_int:
            self.integer.append(len(self.costs) - 1)
        return len(self.costs) - 1

    def row(self, cols: Iterable[int], coefs: Iterable[float], lo: float, hi: float) -> None:
        self.starts.append(len(self.idx))
        self.idx.extend(cols)
        self.val.extend(coefs)
        self.rows_lo.append(lo)
        self.rows_hi.append(hi)


#: HiGHS's infinity (``highspy.kHighsInf`` is the float infinity).
_INF = math.inf


def _occurrence_columns(mip: _AssignMip, occ: list[Occurrence], visits: list[RecurringVisit], est: Estimate,
                        days: int) -> tuple[dict[int, list[tuple[int, float]]],
                                            dict[tuple[Any, int], list[tuple[int, float, float]]]]:
    """Columns of each occurrence (a day of its window, or dropped) and of the groups it uses;
    returns the load columns of each day and the columns sharing each day's time windows."""
    var, row, inf = mip.var, mip.row, _INF
    x, u, gy = mip.x, mip.u, mip.gy
    load_cols: dict[int, list[tuple[int, float]]] = {d: [] for d in range(days)}
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
    return load_cols, win_cols


def _day_rows(mip: _AssignMip, occ: list[Occurrence], visits: list[RecurringVisit], days: int, cap_d: np.ndarray,
              load_cols: dict[int, list[tuple[int, float]]],
              win_cols: dict[tuple[Any, int], list[tuple[int, float, float]]]) -> None:
    """The longest day and overtime columns, the time-window rows and the gap rows."""
    var, row, inf, x = mip.var, mip.row, _INF, mip.x
    # Longest day; the estimated load may pass the shift only at a cost (the day's route
    # then leaves out the least important visits, with reasons).
    big_l = mip.big_l = var(BALANCE_WEIGHT, 0.0, inf, is_int=False)
    over = mip.over
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


def _warm_start(mip: _AssignMip, start: dict[int, int], occ: list[Occurrence], visits: list[RecurringVisit],
                est: Estimate, days: int, cap_d: np.ndarray) -> np.ndarray:
    """Column values of a feasible assignment (e.g. the naive one), so that the solver never
    returns worse than it."""
    x, u, gy, big_l, over = mip.x, mip.u, mip.gy, mip.big_l, mip.over
    val0 = np.zeros(len(mip.costs))
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
    return val0


def assign_mip(occ: list[Occurrence], visits: list[RecurringVisit], est: Estimate, days: int,
               shift: Shift, *, time_limit: float = 6.0, gap: float = 0.02,
               start: dict[int, int] | None = None, caps: np.ndarray | None = None
               ) -> tuple[dict[int, int], dict[str, Any]]:
    """Assign occurrences to days with HiGHS. Returns {occurrence index: day} and solver facts."""
    import highspy  # noqa: PLC0415 - loaded on first solve (start-up time)

    t0 = time.perf_counter()
    h = silent_highs()  # silent: the public constructor prints a banner to stdout
    cap_d = _capacities(shift, days, caps)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(gap))
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 1)
    mip = _AssignMip()
    load_cols, win_cols = _occurrence_columns(mip, occ, visits, est, days)
    _day_rows(mip, occ, visits, days, cap_d, load_cols, win_cols)
    costs, lower, upper, integer = mip.costs, mip.lower, mip.upper, mip.integer
    rows_lo, rows_hi, starts, idx, val, x = mip.rows_lo, mip.rows_hi, mip.starts, mip.idx, mip.val, mip.x
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
        hs = highspy.HighsSolution()
        hs.col_value = _warm_start(mip, start, occ, visits, est, days, cap_d).tolist()
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


class _DayLoads:
    """An assignment and each day's estimated load, kept up to date move by move (`balance_days`)."""

    def __init__(self, where: dict[int, int], occ: list[Occurrence], visits: list[RecurringVisit], est: Estimate,
                 days: int, cap: np.ndarray) -> None:
        self.occ, self.visits, self.cap = occ, visits, cap
        where = self.where = dict(where)
        work = self.work = np.array([visits[o.rv].visit.service_min + float(est.own_min[o.rv]) for o in occ])
        grp = self.grp = np.array([int(est.group[o.rv]) for o in occ], dtype=np.int64)
        gcost = self.gcost = est.group_cost_min
        load = self.load = np.zeros(days)
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
            wr = wroom[i]
            if wr is not None:
                wload[(wr[0], d)] = wload.get((wr[0], d), 0.0) + work[i]
        self.count, self.on_day, self.by_rv, self.pos, self.wroom, self.wload = count, on_day, by_rv, pos, wroom, wload

    def over(self, x: float, d: int) -> float:
        return OVERTIME_PENALTY * max(0.0, x - float(self.cap[d]))

    def allowed(self, i: int, d2: int) -> bool:
        """Day ``d2`` keeps the gaps to the visit's neighbouring occurrences, and the visit
        is not on that day already."""
        occ, visits, where, by_rv, pos, work = self.occ, self.visits, self.where, self.by_rv, self.pos, self.work
        o = occ[i]
        g = max(1, visits[o.rv].min_gap_days)
        ids = by_rv[o.rv]
        k = pos[i]
        prev_d = where.get(ids[k - 1]) if k > 0 else None
        next_d = where.get(ids[k + 1]) if k + 1 < len(ids) else None
        if (prev_d is not None and d2 - prev_d < g) or (next_d is not None and next_d - d2 < g):
            return False
        wr = self.wroom[i]
        if wr is not None and self.wload.get((wr[0], d2), 0.0) + work[i] > wr[1] + visits[o.rv].visit.service_min:
            return False  # no room left in the windows that day
        return not any(occ[j].rv == o.rv for j in self.on_day[d2])

    def place(self, i: int, d2: int, add: float) -> None:
        wr, wload, count, grp = self.wroom[i], self.wload, self.count, self.grp
        if wr is not None:
            wload[(wr[0], d2)] = wload.get((wr[0], d2), 0.0) + self.work[i]
        self.load[d2] += add
        count[(int(grp[i]), d2)] = count.get((int(grp[i]), d2), 0) + 1
        self.on_day[d2].add(i)
        self.where[i] = d2

    def best_move(self) -> tuple[float, int, int, float, float] | None:
        """The best improving move (delta, occurrence, day, load out, load in) of the busiest
        day that has one, or None."""
        load, occ, work, gcost, grp, count = self.load, self.occ, self.work, self.gcost, self.grp, self.count
        over, allowed = self.over, self.allowed
        order = np.argsort(-load)[:3].tolist()
        top = float(load[order[0]])

        def max_without(a: int, b: int, order: list[int] = order) -> float:
            return next((float(load[d]) for d in order if d not in (a, b)), 0.0)

        best: tuple[float, int, int, float, float] | None = None
        # The busiest days first; the first day with an improving move gives the move.
        for src in np.argsort(-load).tolist():
            for i in self.on_day[src]:
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
        return best

    def move(self, best: tuple[float, int, int, float, float]) -> None:
        _, i, d2, out, add = best
        d = self.where[i]
        self.load[d] -= out
        wr = self.wroom[i]
        if wr is not None:
            self.wload[(wr[0], d)] -= self.work[i]
        self.count[(int(self.grp[i]), d)] -= 1
        self.on_day[d].discard(i)
        self.place(i, d2, add)

    def place_left_out(self) -> int:
        """Occurrences left out (the MIP stopped at its time limit): put each, most important
        first, on the day of its window where it costs least, when that costs less than
        dropping it (the same objective; past the shift, the day's route then leaves out the
        least important visits, with reasons). Returns how many were placed."""
        occ, visits, where, load, work, gcost, grp = (self.occ, self.visits, self.where, self.load, self.work,
                                                      self.gcost, self.grp)
        over, count = self.over, self.count
        moves = 0
        for i in sorted((i for i in range(len(occ)) if i not in where),
                        key=lambda i: (visits[occ[i].rv].visit.priority, occ[i].due)):
            options = []
            for d2 in occ[i].days:
                if not self.allowed(i, d2):
                    continue
                add = work[i] + (gcost[grp[i]] if count.get((int(grp[i]), d2), 0) == 0 else 0.0)
                l2 = float(load[d2]) + add
                cost = (add + BALANCE_WEIGHT * max(0.0, l2 - float(load.max())) + over(l2, d2)
                        - over(float(load[d2]), d2))
                options.append((cost, d2, add))
            if options and min(options)[0] < DROP_PENALTY[visits[occ[i].rv].visit.priority]:
                _, d2, add = min(options)
                self.place(i, d2, add)
                moves += 1
        return moves


def balance_days(where: dict[int, int], occ: list[Occurrence], visits: list[RecurringVisit], est: Estimate,
                 days: int, shift: Shift, *, max_moves: int = 2_000, caps: np.ndarray | None = None,
                 deadline: float | None = None) -> tuple[dict[int, int], int]:
    """Even out the days of an assignment: move occurrences off the busiest days.

    The assignment objective (estimated travel + `BALANCE_WEIGHT` x the longest day +
    `OVERTIME_PENALTY` x load beyond the shift) is evaluated exactly for each move of an
    occurrence to another day of its on-time window that keeps the visit's gaps and its
    window room; days are tried busiest first and the best improving move of the first day
    that has one is made, until none improves. Occurrences left out are then placed where
    they cost less than their drop penalty. The MIP stops at
    its time limit with a weak bound on the longest day, and this pass closes that gap
    without ever making the objective worse. The moves stop at ``deadline`` (a
    `time.perf_counter` value) when one is given. Returns the new assignment and the moves made.
    """
    state = _DayLoads(where, occ, visits, est, days, _capacities(shift, days, caps))
    moves = 0
    while moves < max_moves and (deadline is None or time.perf_counter() < deadline):
        best = state.best_move()
        if best is None:
            break
        state.move(best)
        moves += 1
    moves += state.place_left_out()
    return state.where, moves


def assign_naive(occ: list[Occurrence], visits: list[RecurringVisit], est: Estimate, days: int, shift: Shift,
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


__all__ = ["RecurringVisit", "Occurrence", "Estimate", "estimate", "capacity", "assign_mip", "balance_days",
           "assign_naive", "GROUP_S", "DROP_PENALTY", "PLAN_SHARE", "BALANCE_WEIGHT", "OVERTIME_PENALTY"]

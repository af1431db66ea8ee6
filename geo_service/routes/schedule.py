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
   its time limit; a balancing pass (`balance_days`) then moves occurrences off the busiest
   days and places any left out, never making the objective worse.
2. Routing: every day is planned with `geo_service.routes.day.plan_day`.

The recurring visits, the estimate and the assignment (step 1) are in
`geo_service.routes.schedule_assign`; this module makes the occurrences and the schedule.

Visits that cannot be kept on time are reported with the reason: all days of their window
are days off, they were overdue before the period started, no day in their window has
room, or they did not fit in the day's route.

`assign_naive` (``method="naive"``) is the baseline the benchmark compares against: occurrences in due-date
order, each on the first day of its window with room.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geo_service import progress
from geo_service.errors import InputError
from geo_service.routes.day import plan_day
from geo_service.routes.model import DayPlan, Shift, TravelMode, Visit, validate
from geo_service.routes.schedule_assign import (
    Estimate,
    Occurrence,
    RecurringVisit,
    assign_mip,
    assign_naive,
    balance_days,
    capacity,
    estimate,
)

logger = logging.getLogger(__name__)

#: Reports an occurrence as missed: (recurring visit, due date, reason, the day it was put on).
_Miss = Callable[..., None]

#: The polish budget of each day's route in a schedule (a day plan alone gets up to 0.45 s).
DAY_POLISH_S = 0.08

MAX_PERIOD_DAYS = 92
MAX_RECURRING = 2_000
#: Most visit occurrences one schedule holds (92 days of about 40 visits): a larger request is
#: refused (400) before anything is solved; 2,000 daily visits over 92 days would make 184,000.
MAX_OCCURRENCES = 4_000
#: The whole schedule's time budget (seconds, matrix to the last day's route): the assignment
#: solver, the balancing pass and the days' routes share it, so a request answers within ~10 s.
SCHEDULE_BUDGET_S = 8.0
#: Largest assignment MIP handed to HiGHS, counted as its day columns plus the pairs of days
#: the spacing rows join; a larger one keeps the naive start and the balancing pass (building
#: it alone would outlast the budget).
MAX_MIP_TERMS = 120_000
#: Least time worth giving HiGHS; with less left of the budget the naive start is balanced.
MIN_MIP_S = 0.2


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
            if due < start_date:
                # The cycles missed before the period make one overdue visit (the latest due before
                # it): a due date years back costs one occurrence, not one per missed cycle.
                due += dt.timedelta(days=k * (((start_date - due).days - 1) // k))
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


# -- the schedule -----------------------------------------------------------------------------------

def mip_terms(occ: list[Occurrence]) -> int:
    """The size of the assignment MIP: day columns plus the day pairs of consecutive occurrences."""
    terms = sum(len(o.days) for o in occ)
    last: dict[int, Occurrence] = {}
    for o in sorted(occ, key=lambda o: (o.rv, o.seq)):
        if o.rv in last:
            terms += len(last[o.rv].days) * len(o.days)
        last[o.rv] = o
    return terms


def _assign(method: str, occ_u: list[Occurrence], visits: list[RecurringVisit], est: Estimate, days: int,
            shift: Shift, caps: np.ndarray, full: np.ndarray, time_limit: float, deadline: float
            ) -> tuple[dict[int, int], dict[str, Any]]:
    """Occurrences to days by ``method`` (``mip``: the naive start, HiGHS, then the balancing pass).
    HiGHS gets ``time_limit`` at most, and the balancing pass stops at ``deadline``."""
    facts: dict[str, Any]
    if method == "mip":
        naive = assign_naive(occ_u, visits, est, days, shift, caps=caps)
        terms = mip_terms(occ_u)
        if terms <= MAX_MIP_TERMS and time_limit >= MIN_MIP_S:
            where, facts = assign_mip(occ_u, visits, est, days, shift, time_limit=time_limit, start=naive, caps=caps)
        else:  # too large to build and solve within the budget: the naive start, balanced
            where, facts = naive, {"engine": "naive+balance", "mip_terms": terms,
                                   "why": f"the assignment MIP would hold {terms:,} terms (at most {MAX_MIP_TERMS:,})"}
        where, facts["balance_moves"] = balance_days(where, occ_u, visits, est, days, shift, caps=caps,
                                                     deadline=deadline)
    else:
        # The baseline fills each day's whole working time, first come first served.
        where, facts = assign_naive(occ_u, visits, est, days, shift, caps=full), {"engine": "naive"}
    return where, facts


def _days_of(occ_u: list[Occurrence], where: dict[int, int], start_date: dt.date, days: int, miss: _Miss
             ) -> dict[int, list[int]]:
    """The occurrences of each day; the ones without a day, and the late ones, are reported missed."""
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
    return per_day


def _route_days(city: Any, per_day: dict[int, list[int]], occ_u: list[Occurrence], visits: list[RecurringVisit],
                est: Estimate, *, start_date: dt.date, days: int, off: set[int], post: tuple[float, float],
                day_shift: Callable[[int], Shift], mode: TravelMode, exploration: int, polish_s: float,
                miss: _Miss, deadline: float | None = None) -> list[ScheduledDay]:
    """Every working day routed with `plan_day`; visits its route leaves out are reported missed.
    With a ``deadline`` (a `time.perf_counter` value) each day's solvers get an equal share of
    the time left (VROOM most of it, the polish at most ``polish_s``)."""
    out_days: list[ScheduledDay] = []
    to_route = sum(1 for d in range(days) if d not in off)
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
        day_polish, day_vroom = polish_s, None
        if deadline is not None:
            share = max(0.0, deadline - time.perf_counter()) / max(1, to_route)
            day_vroom, day_polish = 0.75 * share, min(polish_s, 0.25 * share)
        to_route -= 1
        plan = plan_day(city, start=post, visits=day_visits, shift=day_shift(d), mode=mode, exploration=exploration,
                        polish_s=day_polish, vroom_s=day_vroom)
        by_id = {visits[occ_u[i].rv].visit.id: occ_u[i] for i in ids}
        for u in plan.unassigned:
            o = by_id[u.visit_id]
            miss(o.rv, o.due, f"assigned to {date.isoformat()} but left out of that day's route: {u.reason}")
        out_days.append(ScheduledDay(date=date, visit_ids=plan.visit_ids, estimate_min=float(est_min), plan=plan,
                                     due={vid: by_id[vid].due for vid in plan.visit_ids}))
        progress.report("days", d + 1, days)  # a job's progress; may cancel it
    return out_days


def schedule_period(city: Any, *, start_date: dt.date, days: int, visits: list[RecurringVisit],
                    post: tuple[float, float], shift: Shift, days_off: Iterable[dt.date] = (),
                    mode: TravelMode = "walk", reception_weekdays: Iterable[int] | None = None,
                    method: str = "mip", time_limit: float = 6.0, exploration: int = 3,
                    polish_s: float = DAY_POLISH_S, budget_s: float | None = SCHEDULE_BUDGET_S) -> Schedule:
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
    budget_s
        The whole call's time budget (`SCHEDULE_BUDGET_S`; None: unbounded, for benchmarks):
        the assignment solver gets at most ``time_limit`` and 45% of it, the balancing pass
        stops at 60%, and the days' routes share what is left.

    Raises
    ------
    InputError
        A period beyond `MAX_PERIOD_DAYS`, more than `MAX_RECURRING` visits, or more than
        `MAX_OCCURRENCES` occurrences (field ``visits``, rule ``occurrences_cap``).
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
    if len(occ) > MAX_OCCURRENCES:
        msg = (f"visits: the period holds {len(occ):,} visit occurrences; a schedule holds at most "
               f"{MAX_OCCURRENCES:,} (fewer visits, a lower frequency or a shorter period)")
        raise InputError(msg, field="visits", rule="occurrences_cap", maximum=MAX_OCCURRENCES)
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

    caps = np.array([capacity(day_shift(d)) for d in range(days)])
    full = np.array([max(0.0, day_shift(d).working_min()) for d in range(days)])
    end, assign_limit, balance_end = math.inf, time_limit, math.inf
    if budget_s is not None:
        end, balance_end = t0 + budget_s, t0 + 0.6 * budget_s
        assign_limit = min(time_limit, max(0.0, t0 + 0.45 * budget_s - time.perf_counter()))
    where, facts = _assign(method, occ_u, visits, est, days, shift, caps, full, assign_limit, balance_end)
    t_assign = time.perf_counter() - t0 - t_est
    per_day = _days_of(occ_u, where, start_date, days, miss)
    out_days = _route_days(city, per_day, occ_u, visits, est, start_date=start_date, days=days, off=off, post=post,
                           day_shift=day_shift, mode=mode, exploration=exploration, polish_s=polish_s, miss=miss,
                           deadline=None if budget_s is None else end)
    facts.update({"estimate_s": round(t_est, 3), "assign_s": round(t_assign, 3),
                  "total_s": round(time.perf_counter() - t0, 3), "occurrences": len(occ),
                  "groups": int(est.group.max()) + 1 if len(est.group) else 0, "method": method})
    logger.info("schedule: %d days, %d occurrences, %d missed, %.2f s", days, len(occ), len(missed),
                facts["total_s"])
    return Schedule(start_date=start_date, days=out_days, missed=missed, solver=facts)


__all__ = ["RecurringVisit", "Missed", "ScheduledDay", "Schedule", "schedule_period", "occurrences", "DAY_POLISH_S",
           "MAX_PERIOD_DAYS", "MAX_RECURRING", "MAX_OCCURRENCES", "SCHEDULE_BUDGET_S", "MAX_MIP_TERMS", "mip_terms"]

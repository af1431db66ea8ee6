"""Visits spread over days on the tiny grid."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from geo_service.bundle import load_bundle
from geo_service.errors import InputError
from geo_service.routes.model import Shift, Visit
from geo_service.routes.schedule import RecurringVisit, schedule_period
from tests.conftest import grid_latlon

POST = grid_latlon(0.3, 0.3)
START = dt.date(2026, 12, 7)  # a Monday


def at(vid: str, i: float, j: float, **kw) -> Visit:
    lat, lon = grid_latlon(i, j)
    return Visit(id=vid, lat=lat, lon=lon, **kw)


@pytest.fixture()
def city(built_tiny: Path):
    return load_bundle(built_tiny)


def visit_days(sched) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for d in sched.days:
        for vid in d.visit_ids:
            out.setdefault(vid, []).append((d.date - START).days)
    return out


@pytest.mark.parametrize("method", ["mip", "naive"])
def test_frequencies_gaps_and_days_off(city, method: str) -> None:
    weekends = [START + dt.timedelta(days=d) for d in (5, 6, 12, 13)]
    visits = [
        RecurringVisit(at("dv1", 0, 3, service_min=30, priority=1), every_days=7, min_gap_days=4,
                       due=START + dt.timedelta(days=2)),
        RecurringVisit(at("dv2", 3, 3, service_min=30, priority=1), every_days=7, min_gap_days=3),
        RecurringVisit(at("pr1", 3, 0, service_min=20, priority=2), per_month=1, due=START + dt.timedelta(days=10)),
        # Not due in the period (monthly, due at the end of the first 30 days): not scheduled.
        RecurringVisit(at("pr2", 2, 3, service_min=20, priority=2), per_month=1),
        RecurringVisit(at("ap1", 2, 2, service_min=15, priority=3), due=START + dt.timedelta(days=4)),
        # Every other day, first due on a Sunday: its window (the weekend) is all days off, so
        # it moves to Monday and is reported.
        RecurringVisit(at("late", 1, 2, service_min=15, priority=3), every_days=2, due=START + dt.timedelta(days=6)),
        RecurringVisit(at("overdue", 2, 1, service_min=15, priority=2), due=START - dt.timedelta(days=3)),
    ]
    sched = schedule_period(city, start_date=START, days=14, visits=visits, post=POST,
                            shift=Shift(540, 1080, breaks=[(780, 840)]), days_off=weekends, method=method,
                            time_limit=2.0)
    days = visit_days(sched)
    assert all(d.date not in weekends for d in sched.days)
    # dv1: due day 2 then 9; once in each 7-day slot, at least 4 days apart.
    a, b = days["dv1"]
    assert 0 <= a <= 2 and 3 <= b <= 9 and b - a >= 4
    # dv2: no due date: once in days 0-6 and once in 7-13.
    x, y = days["dv2"]
    assert 0 <= x <= 6 and 7 <= y <= 13
    assert len(days["pr1"]) == 1 and days["pr1"][0] <= 10
    assert "pr2" not in days
    assert days["ap1"][0] <= 4
    late = days["late"]
    assert late[0] == 7 and late[1] == 8 and 9 <= late[2] <= 10 and late[3] == 11 and len(late) == 4
    (m,) = [m for m in sched.missed if m.visit_id == "late"]
    assert "day off" in m.reason and m.scheduled == START + dt.timedelta(days=7)
    (m,) = [m for m in sched.missed if m.visit_id == "overdue"]
    assert "overdue" in m.reason and m.scheduled is not None
    json.dumps(sched.to_dict())


def test_overloaded_period_reports_least_important(city) -> None:
    # Two days of four hours each, with more visits than fit: appeals go, DV follow-ups stay.
    due = START + dt.timedelta(days=1)
    visits = [RecurringVisit(at(f"dv{k}", k % 4, (k * 3) % 4, service_min=50, priority=1), due=due)
              for k in range(4)]
    visits += [RecurringVisit(at(f"ap{k}", (k + 1) % 4, k % 4, service_min=50, priority=3), due=due)
               for k in range(6)]
    sched = schedule_period(city, start_date=START, days=2, visits=visits, post=POST, shift=Shift(540, 780),
                            time_limit=2.0)
    made = {v for d in sched.days for v in d.visit_ids}
    assert {f"dv{k}" for k in range(4)} <= made
    missed = {m.visit_id for m in sched.missed}
    assert missed and all(v.startswith("ap") for v in missed)
    assert all(m.reason for m in sched.missed)


def test_schedule_rejects_bad_input(city) -> None:
    v = RecurringVisit(at("a", 1, 1), every_days=7, min_gap_days=10)
    with pytest.raises(InputError):
        schedule_period(city, start_date=START, days=14, visits=[v], post=POST, shift=Shift())
    with pytest.raises(InputError):
        schedule_period(city, start_date=START, days=0, visits=[], post=POST, shift=Shift())
    with pytest.raises(InputError):
        schedule_period(city, start_date=START, days=7, visits=[RecurringVisit(at("a", 1, 1))], post=POST,
                        shift=Shift(), method="magic")


def test_balance_moves_load_off_the_busiest_day_and_keeps_gaps() -> None:
    import numpy as np

    from geo_service.routes.schedule_assign import Estimate, Occurrence, balance_days

    # Six one-off visits in six far-apart groups, all on day 0 of a 3-day period; a weekly
    # visit with two occurrences two days apart (min gap 2) must keep its gap.
    visits = [RecurringVisit(Visit(f"v{k}", 43.25, 76.9, service_min=30, priority=3)) for k in range(6)]
    visits.append(RecurringVisit(Visit("w", 43.25, 76.9, service_min=30, priority=1), every_days=2,
                                 min_gap_days=2))
    est = Estimate(group=np.arange(7), group_cost_min=np.full(7, 20.0), own_min=np.zeros(7),
                    reach_min=np.full(7, 20.0))
    occ = [Occurrence(rv=k, seq=0, due=START, days=[0, 1, 2]) for k in range(6)]
    occ += [Occurrence(rv=6, seq=0, due=START, days=[0]), Occurrence(rv=6, seq=1, due=START, days=[1, 2])]
    where = {i: 0 for i in range(7)} | {7: 2}
    shift = Shift(540, 1080)
    out, moves = balance_days(where, occ, visits, est, 3, shift)
    load = [sum(50.0 for i, d in out.items() if d == day) for day in range(3)]
    assert moves > 0 and max(load) < 7 * 50.0
    assert max(load) - min(load) <= 50.0  # as even as whole visits allow
    assert out[6] == 0 and out[7] == 2  # the weekly visit's gap is kept
    assert set(out) == set(where)  # nothing dropped


def test_a_due_date_years_back_is_one_overdue_visit_not_one_per_cycle() -> None:
    """A weekly visit due 26 years before the period: one overdue occurrence, then the weekly ones
    (a bounded cost: the loop used to make one occurrence per missed week, 1,400 of them)."""
    from geo_service.routes.schedule import occurrences

    v = RecurringVisit(at("old", 1, 1, service_min=15, priority=2), every_days=7, due=dt.date(2000, 1, 3))
    occ, lost = occurrences([v], START, 14, set())
    assert not lost and 2 <= len(occ) <= 3
    assert occ[0].late and occ[0].due < START and (START - occ[0].due).days <= 7
    assert all(not o.late for o in occ[1:]) and all(START <= o.due < START + dt.timedelta(days=14) for o in occ[1:])

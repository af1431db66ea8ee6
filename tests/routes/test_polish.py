"""The tour polish (`geo_service.routes.polish`): never longer than VROOM's tour, windows kept,
the same plan for the same input, and the 2-opt/Or-opt pass on a generated instance."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from geo_service.bundle import load_bundle
from geo_service.routes.day import plan_day
from geo_service.routes.model import Shift, Visit
from geo_service.routes.polish import Tour
from geo_service.routes.vroom import Problem
from tests.conftest import grid_latlon

POST = grid_latlon(0.3, 0.3)


@pytest.fixture()
def city(built_tiny: Path):
    return load_bundle(built_tiny)


def _visits() -> list[Visit]:
    rng = np.random.default_rng(5)
    out = []
    for k in range(14):
        lat, lon = grid_latlon(float(rng.uniform(0, 3)), float(rng.uniform(0, 3)))
        tw = [(560 + 20 * k, 620 + 20 * k)] if k % 3 == 0 else []
        out.append(Visit(f"v{k}", lat, lon, service_min=5, priority=1 + k % 4, time_windows=tw))
    return out


def _travel(plan) -> float:
    return sum(leg.time_s for leg in plan.legs)


def test_polish_never_longer_than_vroom_and_keeps_windows(city) -> None:
    shift = Shift(540, 900)
    vroom_only = plan_day(city, start=POST, visits=_visits(), shift=Shift(540, 900), polish_s=0)
    polished = plan_day(city, start=POST, visits=_visits(), shift=shift, polish_s=5)
    assert len(polished.visit_ids) >= len(vroom_only.visit_ids)
    if len(polished.visit_ids) == len(vroom_only.visit_ids):
        assert _travel(polished) <= _travel(vroom_only) + 1e-6
    by_id = {v.id: v for v in _visits()}
    for s in polished.stops:
        if s.kind == "visit" and by_id[s.visit_id].time_windows:
            assert any(a <= s.start_min <= b for a, b in by_id[s.visit_id].time_windows)
    assert polished.stops[-1].arrival_min <= shift.end_min + 1e-6


def test_same_input_same_plan(city) -> None:
    # A fixed amount of search (rounds of iterations, fixed seeds): the deadline is far.
    a = plan_day(city, start=POST, visits=_visits(), shift=Shift(540, 900), polish_s=5)
    b = plan_day(city, start=POST, visits=_visits(), shift=Shift(540, 900), polish_s=5)
    assert a.visit_ids == b.visit_ids


def _problem(n: int, seed: int) -> tuple[Problem, list[tuple[str, int, int]], list[tuple[int, int, int]]]:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 500, size=(n + 1, 2))
    times = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    shift = Shift(0, 400)  # minutes: 24000 s
    visits = [Visit(f"v{i}", 0.0, 0.0, service_min=1) for i in range(n)]
    p = Problem(times_s=times, start_loc=0, end_loc=0, post_loc=0, shift=shift, vehicle_end_s=24000,
                visits=visits, loc_of=[i + 1 for i in range(n)])
    meaning = [("visit", i, i + 1) for i in range(n)]
    windows = [(0, 24000, 60)] * n
    for i in range(0, n, 4):  # a quarter with a window around a random time
        lo = int(rng.integers(0, 3000))
        windows[i] = (lo, lo + 1500, 60)
    return p, meaning, windows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_opt_pass_only_shortens_and_keeps_windows(seed: int) -> None:
    p, meaning, windows = _problem(25, seed)
    tour = Tour(p, meaning, windows)
    # A feasible start: the windowed visits by closing time first, then the others.
    order = sorted(range(25), key=lambda c: (windows[c][1], c))
    before = tour.cost(order)
    assert before is not None
    after_order = tour.improve(order, time.perf_counter() + 60)
    after = tour.cost(after_order)
    assert sorted(after_order) == sorted(order)
    assert after is not None and after <= before
    # A local optimum: no improving feasible move is left.
    assert all(tour.cost(new) is None or tour.cost(new) >= after for _, new in tour.moves(after_order))

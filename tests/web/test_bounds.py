"""Every request has a bounded cost: each bound is enforced (a 400 problem naming the field and
the rule, or a solver stopped by its share of the request's budget), and the worst inputs the
caps allow still answer."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from geo_service.errors import InputError
from geo_service.routes import schedule as schedule_module
from geo_service.routes.day import DAY_VROOM_S, plan_day
from geo_service.routes.model import Shift, Visit
from geo_service.routes.schedule import MAX_OCCURRENCES, SCHEDULE_BUDGET_S, mip_terms, occurrences, schedule_period
from geo_service.routes.schedule_assign import RecurringVisit
from geo_service.siting import candidates as candidates_module
from geo_service.siting.candidates import coverage_matrix
from geo_service.siting.request import MIN_SOLVE_S, REQUEST_BUDGET_S, SitingBody, run_siting
from geo_service.web.context import STORE_EXT, get_city
from geo_service.web.views import workload as workload_view
from geo_service.web.views.reach import ISOCHRONE_CAPS
from tests.conftest import grid_latlon


def _token(app, role: str, *, subject: str | None = None, precincts: tuple[str, ...] = ()) -> dict[str, str]:
    _, token = app.extensions[STORE_EXT].create_credential(name=f"t-{role}-{subject}", role=role, kind="user_token",
                                                          subject=subject, precinct_ids=precincts)
    return {"Authorization": f"Bearer {token}"}


def _refused(resp, field: str, rule: str | None = None) -> None:
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json", resp.json
    assert field in resp.json["detail"] or resp.json.get("field") == field, resp.json
    if rule is not None:
        assert (resp.json.get("field"), resp.json.get("rule")) == (field, rule), resp.json


# -- isochrones ---------------------------------------------------------------------------------

def test_isochrone_caps_per_caller(app, client) -> None:
    lat, lon = grid_latlon(1, 1)
    url = f"/api/v1/isochrone?lat={lat}&lon={lon}"
    assert ISOCHRONE_CAPS["public"] == {"walk": 30.0, "drive": 15.0}
    # The public's worst allowed isochrones answer; a minute more is refused naming the rule.
    assert client.get(f"{url}&minutes=30&mode=walk").status_code == 200
    assert client.get(f"{url}&minutes=15&mode=drive").status_code == 200
    _refused(client.get(f"{url}&minutes=30.5&mode=walk"), "minutes", "isochrone_cap")
    over = client.get(f"{url}&minutes=120&mode=drive")
    _refused(over, "minutes", "isochrone_cap")
    assert over.json["maximum"] == 15
    # With credentials the caps are higher, and still caps.
    key = _token(app, "inspector", subject="UI-1", precincts=("P-01",))
    assert client.get(f"{url}&minutes=60&mode=drive", headers=key).status_code == 200
    assert client.get(f"{url}&minutes=120&mode=walk", headers=key).status_code == 200
    _refused(client.get(f"{url}&minutes=61&mode=drive", headers=key), "minutes", "isochrone_cap")
    _refused(client.get(f"{url}&minutes=121&mode=walk", headers=key), "minutes", "range")
    _refused(client.get(f"{url}&minutes=nan", headers=key), "minutes", "range")


# -- schedules ----------------------------------------------------------------------------------

def _schedule_body(visits: list[dict], days: int = 92, **extra) -> dict:
    return {"inspector_id": "UI-1", "start_date": "2026-12-01", "days": days, "visits": visits, "save": False,
            **extra}


def _recurring(n: int, **rule) -> list[dict]:
    out = []
    for k in range(n):
        lat, lon = grid_latlon(0.3 + (k % 7) * 0.4, 0.2 + (k // 7 % 6) * 0.25)
        out.append({"visit": {"id": f"r{k}", "lat": lat, "lon": lon, "minutes": 5, "priority": 2}, **rule})
    return out


def test_schedule_dates_and_periods_are_bounded_before_any_loop(app, client) -> None:
    ui1 = _token(app, "inspector", subject="UI-1", precincts=("P-01",))
    url = "/api/v1/routes/schedule"
    _refused(client.post(url, json=_schedule_body(_recurring(1, every_days=7), days=93), headers=ui1), "days")
    _refused(client.post(url, json=_schedule_body(_recurring(1, every_days=7, due="0001-01-01")), headers=ui1),
             "due")
    _refused(client.post(url, json=_schedule_body(_recurring(1, every_days=93)), headers=ui1), "every_days")
    # The most visits, daily, over the longest period: 184,000 occurrences are refused at once.
    t0 = time.perf_counter()
    many = client.post(url, json=_schedule_body(_recurring(2000, every_days=1)), headers=ui1)
    _refused(many, "visits", "occurrences_cap")
    assert many.json["maximum"] == MAX_OCCURRENCES and "184,000" in many.json["detail"]
    assert time.perf_counter() - t0 < 5  # refused before the travel matrix and the solvers
    # A due date far back folds its missed cycles into one overdue occurrence.
    folded, _ = occurrences([RecurringVisit(visit=Visit(id="x", lat=0, lon=0), every_days=1,
                                            due=dt.date(2000, 1, 1))], dt.date(2026, 12, 1), 92, set())
    assert len(folded) == 93 and folded[0].late  # one overdue (the latest missed cycle), then one a day


def test_the_worst_allowed_schedule_answers_within_its_budget(app, client) -> None:
    """43 daily visits over 92 days (3,956 occurrences, just under the cap): the answer comes,
    and the service's own account of its time stays within the budget (the solvers are cut)."""
    ui1 = _token(app, "inspector", subject="UI-1", precincts=("P-01",))
    body = _schedule_body(_recurring(43, every_days=1))
    resp = client.post("/api/v1/routes/schedule", json=body, headers=ui1)
    assert resp.status_code == 200, resp.json
    solver = resp.json["solver"]
    assert solver["occurrences"] == 43 * 92 <= MAX_OCCURRENCES
    assert solver["total_s"] <= SCHEDULE_BUDGET_S + 1.5, solver  # the budget, and a day's least solve
    assert solver.get("seconds", 0) <= 0.45 * SCHEDULE_BUDGET_S + 0.5  # HiGHS' share


def test_a_mip_too_large_for_the_budget_is_not_built(app, monkeypatch) -> None:
    """Over `MAX_MIP_TERMS` the naive start is balanced instead (building the MIP alone would
    outlast the budget); the schedule says so."""
    visits = [RecurringVisit(visit=Visit(id=f"r{k}", lat=grid_latlon(0.5 + k * 0.3, 0.5)[0],
                                         lon=grid_latlon(0.5 + k * 0.3, 0.5)[1], service_min=5), every_days=7)
              for k in range(4)]
    occ, _ = occurrences(visits, dt.date(2026, 12, 1), 14, set())
    assert mip_terms(occ) == sum(len(o.days) for o in occ) + 4 * 7 * 7
    monkeypatch.setattr(schedule_module, "MAX_MIP_TERMS", 10)
    with app.app_context():
        out = schedule_period(get_city(), start_date=dt.date(2026, 12, 1), days=14, visits=visits,
                              post=grid_latlon(1, 1), shift=Shift(540, 1080))
    assert out.solver["engine"] == "naive+balance" and "MIP" in out.solver["why"]
    assert out.totals()["visits"] == 8


# -- solvers stop at their limit ------------------------------------------------------------------

def test_a_day_plan_keeps_its_vroom_bound(app) -> None:
    """The day's VROOM solves take at most their bound (plus VROOM's least solve per stage),
    whatever the caller asks: a schedule's share, or `DAY_VROOM_S` when larger is asked."""
    visits = [Visit(id=f"v{k}", lat=grid_latlon(0.2 + (k % 8) * 0.35, 0.2 + (k // 8) * 0.3)[0],
                    lon=grid_latlon(0.2 + (k % 8) * 0.35, 0.2 + (k // 8) * 0.3)[1], service_min=5,
                    time_windows=[(540 + 30 * (k % 10), 600 + 30 * (k % 10))]) for k in range(40)]
    with app.app_context():
        city = get_city()
        short = plan_day(city, start=grid_latlon(1, 1), visits=visits, shift=Shift(540, 1080), vroom_s=0.05,
                         polish_s=0)
        long = plan_day(city, start=grid_latlon(1, 1), visits=visits, shift=Shift(540, 1080), vroom_s=60,
                        polish_s=0)
    assert short.solver["solve_s"] <= 0.05 + 0.02 * short.solver["stages"] + 0.1
    assert long.solver["solve_s"] <= DAY_VROOM_S + 0.02 * long.solver["stages"] + 0.1


def test_siting_travel_times_stop_at_the_request_budget(app) -> None:
    with app.app_context():
        graph = get_city().graph("walk")
    nodes = list(range(min(graph.n_nodes, 20)))
    n = len(nodes)
    with pytest.raises(InputError) as exc:
        coverage_matrix(graph, nodes, nodes, 600, deadline=time.perf_counter() - 1)
    assert exc.value.to_problem()["rule"] == "request_budget"
    assert coverage_matrix(graph, nodes, nodes, 600, deadline=time.perf_counter() + 60).shape == (n, n)


def test_siting_solver_gets_what_the_budget_leaves(app, client, monkeypatch) -> None:
    planner = _token(app, "planner", subject="pl")
    body = {"model": "pmedian", "minutes": 5, "p": 1, "existing": "none", "candidates": "nodes",
            "max_candidates": 50, "time_limit": 300}
    monkeypatch.setattr(candidates_module, "MAX_COST_CELLS", 10)
    _refused(client.post("/api/v1/siting/solve", json=body, headers=planner), "max_candidates", "cost_matrix_cap")
    monkeypatch.undo()
    ok = client.post("/api/v1/siting/solve", json={**body, "model": "mclp"}, headers=planner)
    assert ok.status_code == 201, ok.json
    # A body asking 300 s of solver gets what the budget leaves (at least MIN_SOLVE_S).
    with app.app_context():
        result = run_siting(get_city(), SitingBody(**{**body, "model": "mclp"}), budget_s=1.0)
    assert result["solve_seconds"] <= 1.0 + MIN_SOLVE_S
    assert REQUEST_BUDGET_S <= 10


def test_a_waited_balance_answers_202_past_its_wait(app, client, monkeypatch) -> None:
    """``wait: true`` holds the worker at most `BALANCE_WAIT_S`; a longer proposal goes on as
    the job its 202 names."""
    planner = _token(app, "planner", subject="pl")
    assert workload_view.BALANCE_WAIT_S <= 10
    monkeypatch.setattr(workload_view, "BALANCE_WAIT_S", 0.0)
    resp = client.post("/api/v1/workload/balance", json={"tolerance": 0.2}, headers=planner)
    assert resp.status_code == 202 and resp.json["status"] == "queued"
    deadline = time.monotonic() + 120
    while (done := client.get(resp.headers["Location"], headers=planner)).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert done.status_code == 200 and done.json["status"] == "done"

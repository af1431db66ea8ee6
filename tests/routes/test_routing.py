"""One day's route on the tiny grid (about 200 m blocks, 2.5 min walking each)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from geo_service.bundle import load_bundle
from geo_service.errors import InputError
from geo_service.pages.sheet import to_sheet_html
from geo_service.routes.day import plan_day
from geo_service.routes.gpx import to_gpx
from geo_service.routes.model import Shift, Visit
from geo_service.routes.patrol import patrol_loop
from tests.conftest import grid_latlon, shared_file

POST = grid_latlon(0.3, 0.3)
GPX = "{http://www.topografix.com/GPX/1/1}"


@pytest.fixture()
def city(built_tiny: Path):
    return load_bundle(built_tiny)


def at(vid: str, i: float, j: float, **kw) -> Visit:
    lat, lon = grid_latlon(i, j)
    return Visit(id=vid, lat=lat, lon=lon, **kw)


def visits_kept(plan) -> list[str]:
    return [s.visit_id for s in plan.stops if s.kind == "visit"]


def test_every_visit_once_and_windows_respected(city) -> None:
    vs = [at("a", 0, 3, service_min=10, time_windows=[(600, 620)]),
          at("b", 3, 3, service_min=10, time_windows=[(540, 560), (700, 720)]),
          at("c", 3, 0, service_min=10),
          at("d", 1, 2, service_min=5, time_windows=[(560, 600)]),
          at("e", 2, 1, service_min=5, priority=1)]
    plan = plan_day(city, start=POST, visits=vs, shift=Shift(540, 780), mode="walk")
    kept = visits_kept(plan)
    assert sorted(kept + [u.visit_id for u in plan.unassigned]) == sorted(v.id for v in vs)
    assert len(kept) == len(set(kept)) == 5
    by_id = {v.id: v for v in vs}
    prev_dep = 0.0
    for s in plan.stops:
        assert s.arrival_min >= prev_dep - 1e-6
        assert s.start_min >= s.arrival_min - 1e-6
        prev_dep = s.departure_min
        if s.kind == "visit":
            v = by_id[s.visit_id]
            assert s.departure_min - s.start_min == pytest.approx(v.service_min)
            if v.time_windows:
                assert any(a <= s.start_min <= b for a, b in v.time_windows), (s.visit_id, s.start_min)
            assert s.slack_min >= 0
    assert plan.stops[0].kind == "start" and plan.stops[-1].kind == "end"
    assert len(plan.legs) == len(plan.stops) - 1
    totals = plan.totals()
    assert totals["service_min"] == pytest.approx(40)
    assert totals["travel_min"] > 0
    doc = json.loads(json.dumps(plan.to_dict()))
    assert doc["legs"][0]["geometry"]["type"] == "LineString"
    assert len(doc["legs"][0]["geometry"]["coordinates"]) >= 2
    assert doc["stops"][1]["arrival"].count(":") == 1


def test_lower_priority_always_dropped_first(city) -> None:
    # Ten one-hour visits in a four-hour shift: only three or four fit.
    spots = [(0, 1), (0, 2), (0, 3), (1, 0), (1, 3), (2, 0), (2, 2), (3, 1), (3, 2), (3, 3)]
    prios = [4, 2, 3, 1, 4, 3, 2, 4, 1, 3]
    vs = [at(f"v{k}", i, j, service_min=60, priority=p) for k, ((i, j), p) in enumerate(zip(spots, prios))]
    plan = plan_day(city, start=POST, visits=vs, shift=Shift(540, 780), mode="walk")
    prio = {v.id: v.priority for v in vs}
    kept = visits_kept(plan)
    dropped = [u.visit_id for u in plan.unassigned]
    assert 2 <= len(kept) < len(vs)
    assert min(prio[d] for d in dropped) >= max(prio[k] for k in kept)
    assert {"v3", "v8"} <= set(kept)  # both class-1 visits
    assert all(u.reason for u in plan.unassigned)
    assert any("lower priority" in u.reason for u in plan.unassigned)


def test_impossible_window_is_explained(city) -> None:
    vs = [at("far", 3, 3, service_min=10, time_windows=[(540, 542)]), at("ok", 1, 1, service_min=10)]
    plan = plan_day(city, start=POST, visits=vs, shift=Shift(540, 720), mode="walk")
    assert visits_kept(plan) == ["ok"]
    (u,) = plan.unassigned
    assert u.visit_id == "far" and u.code == "window"
    assert "09:00-09:02" in u.reason and "cannot be reached" in u.reason


def test_far_from_road_left_out_with_snap_distance(city) -> None:
    lat, lon = grid_latlon(1, 1)
    vs = [Visit("far", lat + 0.01, lon, 10), at("ok", 1, 1, service_min=10)]
    plan = plan_day(city, start=POST, visits=vs, shift=Shift(540, 720), mode="walk")
    (u,) = plan.unassigned
    assert u.code == "no_road" and "more than 500 m from any road" in u.reason
    assert plan.snap_m["far"] > 500
    assert any("far" in w for w in plan.warnings)


@pytest.mark.parametrize("bad", [
    {"visits": [at(f"v{k}", 1, 1) for k in range(501)]},
    {"visits": [at("w", 1, 1, time_windows=[(600, 600)])]},
    {"visits": [at("w", 1, 1, time_windows=[(620, 600)])]},
    {"mode": "bicycle"},
    {"shift": Shift(600, 540)},
    {"shift": Shift(540, 720, breaks=[(800, 830)])},
    {"visits": [at("x", 1, 1), at("x", 2, 2)]},
    {"visits": [at("p", 1, 1, priority=7)]},
])
def test_bad_input_raises_input_error(city, bad) -> None:
    kw = {"visits": [at("a", 1, 1)], "shift": Shift(540, 720), "mode": "walk"} | bad
    with pytest.raises(InputError):
        plan_day(city, start=POST, **kw)


def test_reception_block_and_break_respected(city) -> None:
    vs = [at(f"v{k}", i, j, service_min=40) for k, (i, j) in enumerate([(0, 3), (3, 3), (3, 0), (2, 2), (1, 2)])]
    shift = Shift(540, 900, breaks=[(660, 690)], reception=(720, 780))
    plan = plan_day(city, start=POST, visits=vs, shift=shift, mode="walk")
    rec = [s for s in plan.stops if s.kind == "reception"]
    brk = [s for s in plan.stops if s.kind == "break"]
    assert len(rec) == 1 and len(brk) == 1
    assert rec[0].start_min == pytest.approx(720) and rec[0].departure_min == pytest.approx(780)
    assert (rec[0].lat, rec[0].lon) == pytest.approx(POST)
    assert brk[0].start_min == pytest.approx(660) and brk[0].departure_min == pytest.approx(690)
    for s in plan.stops:
        if s.kind == "visit":
            for a, b in ((660, 690), (720, 780)):
                assert s.departure_min <= a + 1e-6 or s.start_min >= b - 1e-6, (s.visit_id, s.start_min)
    assert plan.totals()["reception_min"] == pytest.approx(60)


def test_drive_walk_mode_drives_between_clusters(city) -> None:
    vs = [at("a", 0, 2.9, service_min=5), at("b", 0.1, 3, service_min=5), at("c", 3, 0, service_min=5),
          at("d", 2.9, 0.1, service_min=5)]
    plan = plan_day(city, start=POST, visits=vs, shift=Shift(540, 720), mode="drive_walk")
    assert sorted(visits_kept(plan)) == ["a", "b", "c", "d"]
    modes = {m for leg in plan.legs for m in leg.to_dict()["modes"]}
    assert "drive" in modes and "walk" in modes


def test_gpx_parses_and_sheet_escapes(city) -> None:
    vs = [at("a", 1, 2, label="<script>alert('x')</script> & Co"), at("b", 2, 1, label="кв. 5")]
    plan = plan_day(city, start=POST, visits=vs, shift=Shift(540, 720), mode="walk")
    gpx = to_gpx(plan, name="UI-1 <day>", date="2026-12-01")
    root = ET.fromstring(gpx.encode("utf-8"))
    assert root.tag == f"{GPX}gpx" and root.get("version") == "1.1"
    wpts = root.findall(f"{GPX}wpt")
    assert len(wpts) == len(plan.stops)
    names = [w.findtext(f"{GPX}name") for w in wpts]
    assert any("<script>" in n for n in names)  # the label survives as text, escaped in the XML
    assert len(root.findall(f"{GPX}trk/{GPX}trkseg")) == len(plan.legs)
    assert all(float(p.get("lat")) > 43 for p in root.iter(f"{GPX}trkpt"))
    sheet = to_sheet_html(plan, title="Route <UI-1>")
    assert sheet.startswith("<!DOCTYPE html>") and "@media print" in sheet
    assert "<script>" not in sheet and "&lt;script&gt;" in sheet
    assert "Route &lt;UI-1&gt;" in sheet and "кв. 5" in sheet


def test_patrol_loop_returns_to_post_toward_hotspots(city) -> None:
    hot = grid_latlon(3, 3)
    loop = patrol_loop(city, post=POST, minutes=30, hotspots=[hot])
    coords = loop["geometry"]["coordinates"]
    assert coords[0] == coords[-1] == [round(POST[1], 7), round(POST[0], 7)]
    assert 0 < loop["time_s"] <= 30 * 60
    assert loop["hotspots_visited"] == 1
    short = patrol_loop(city, post=POST, minutes=5, hotspots=[hot])
    assert short["hotspots_visited"] == 0 and short["time_s"] <= 5 * 60
    geom = city.precincts.set_index("precinct_id").geometry["P-01"]
    inside = patrol_loop(city, post=POST, minutes=20, precinct_geometry=geom)
    assert 0 < inside["time_s"] <= 20 * 60


@pytest.fixture(scope="module")
def almaty(tmp_path_factory):
    pbf = shared_file("almaty", "almaty.osm.pbf")
    from geo_service.ingest.build import BuildOptions, build_city

    out = tmp_path_factory.mktemp("almaty") / "bundle"
    # Every police object a post, as when these days were drawn (posts.iloc[5] is their start).
    build_city(BuildOptions(osm=pbf, out=out, city="almaty", all_police=True))
    return load_bundle(out)


@pytest.mark.shared_data
def test_almaty_walking_day(almaty) -> None:
    post = almaty.posts.iloc[0]
    p = (float(post.lat), float(post.lon))
    g = almaty.walk
    node, _ = g.snap_many([p[0]], [p[1]])
    from scipy.sparse.csgraph import dijkstra

    reach = dijkstra(g.csr(), indices=int(node[0]), limit=900)
    order = reach.argsort()[: int((reach < 900).sum())]
    near = [int(n) for n in order[len(order) // 12:: max(1, len(order) // 12)]][:12]
    assert len(near) >= 8
    vs = [Visit(f"v{k}", float(g.lat[n]), float(g.lon[n]), 10, 1 + k % 4,
                [(600, 720)] if k % 3 == 0 else []) for k, n in enumerate(near)]
    plan = plan_day(almaty, start=p, visits=vs, shift=Shift(540, 1080, breaks=[(780, 840)]), mode="walk")
    assert sorted(visits_kept(plan)) == sorted(v.id for v in vs)
    assert plan.totals()["travel_min"] < 8 * 60
    for leg in plan.legs:
        assert leg.length_m >= 0


def test_solver_settings_are_reported_and_checked(city) -> None:
    vs = [at("a", 0, 3, service_min=10), at("b", 3, 3, service_min=10, time_windows=[(600, 660)])]
    default = plan_day(city, start=POST, visits=vs, shift=Shift(540, 780), mode="walk")
    assert default.solver["exploration"] == 3 and default.solver["threads"] == 2  # measured defaults
    one = plan_day(city, start=POST, visits=vs, shift=Shift(540, 780), mode="walk", exploration=1, threads=1)
    assert (one.solver["exploration"], one.solver["threads"]) == (1, 1)
    assert sorted(one.visit_ids) == sorted(default.visit_ids) == ["a", "b"]
    with pytest.raises(InputError):
        plan_day(city, start=POST, visits=vs, shift=Shift(540, 780), mode="walk", exploration=9)


def _check_plan(plan, vs, shift) -> None:
    """Independent checks of a day plan: times move forward, windows, fixed blocks, shift end."""
    by_id = {v.id: v for v in vs}
    prev = shift.start_min
    fixed = list(shift.breaks) + ([shift.reception] if shift.reception else [])
    for s in plan.stops:
        assert s.arrival_min >= prev - 1e-6 and s.start_min >= s.arrival_min - 1e-6
        prev = s.departure_min
        if s.kind == "visit":
            v = by_id[s.visit_id]
            if v.time_windows:
                assert any(a <= s.start_min <= b for a, b in v.time_windows), (s.visit_id, s.start_min)
            for a, b in fixed:
                assert s.departure_min <= a + 1e-6 or s.start_min >= b - 1e-6, (s.visit_id, s.start_min)
        elif s.kind in ("break", "reception"):
            assert (s.start_min, s.departure_min) in [pytest.approx(f) for f in fixed]
    assert len([s for s in plan.stops if s.kind == "break"]) == len(shift.breaks)
    assert plan.stops[-1].arrival_min <= max(shift.end_min, shift.reception[1] if shift.reception else 0) + 15


@pytest.mark.parametrize("seed", range(6))
def test_polish_never_loses_a_visit_or_breaks_the_rule(city, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    import geo_service.routes.day as day_mod
    from geo_service.routes.vroom import kept_visits

    # VROOM is not deterministic from one call to the next (two runs may keep different,
    # equally good sets), so the polish is checked against VROOM's tour of the same call.
    seen: dict[str, Any] = {}
    real = day_mod.polish_tour

    def spy(p: Any, sol: Any, candidates: Any, **kw: Any) -> Any:
        out, facts = real(p, sol, candidates, **kw)
        seen["vroom"] = {p.visits[i].id for i in kept_visits(sol)}
        seen["facts"] = facts
        return out, facts

    monkeypatch.setattr(day_mod, "polish_tour", spy)  # plan_day looks the name up in its module

    rnd = random.Random(seed)
    vs = []
    for k in range(14):
        tw = []
        if k % 3 == 0:
            s = rnd.randrange(560, 800, 10)
            tw = [(s, s + 40)] if k % 2 else [(s, s + 30), (s + 120, s + 150)]
        vs.append(at(f"v{k}", rnd.uniform(0, 3), rnd.uniform(0, 3), service_min=rnd.choice([10, 20, 30]),
                     priority=rnd.randint(1, 4), time_windows=tw))
    shift = Shift(540, 900, breaks=[(720, 750)], reception=(840, 900) if seed % 2 else None)
    plain = plan_day(city, start=POST, visits=vs, shift=shift, mode="walk", polish_s=0)
    polished = plan_day(city, start=POST, visits=vs, shift=shift, mode="walk", polish_s=0.3, seed=seed)
    assert plain.solver["polish"] == "skipped" and polished.solver["polish"] in ("improved", "kept VROOM's tour")
    for plan in (plain, polished):
        _check_plan(plan, vs, shift)
    before, after = seen["vroom"], set(polished.visit_ids)
    assert before <= after
    pri = {v.id: v.priority for v in vs}
    counts = [tuple(sum(1 for i in kept if pri[i] == c) for c in (1, 2, 3, 4)) for kept in (before, after)]
    assert counts[1] >= counts[0]  # class by class, most important first
    # A visit left out while a less important one is made is one that could not be fitted
    # around the more important visits (the reason says so), never one dropped to make room.
    for u in polished.unassigned:
        if any(pri[i] > u.priority for i in after):
            assert u.code != "priority", (u.visit_id, u.reason)
    if before == after and seen["facts"]["polish"] == "improved":
        assert seen["facts"]["polish_travel_saved_s"] > 0


@pytest.mark.shared_data
def test_polish_makes_a_visit_vroom_dropped(almaty) -> None:
    """A tight Almaty day (60 walking visits, a third with 90-minute windows, 10 h shift):
    the polish makes all 60 visits on time where VROOM alone left one out."""
    import numpy as np

    city = almaty
    post = (float(city.posts.iloc[5].lat), float(city.posts.iloc[5].lon))
    rng = np.random.default_rng(7)
    g = city.walk
    node, _ = g.snap_many([post[0]], [post[1]])
    from scipy.sparse.csgraph import dijkstra

    reach = dijkstra(g.csr(), indices=int(node[0]), limit=480)
    pick = rng.choice(np.flatnonzero(np.isfinite(reach)), 60, replace=False)
    vs = []
    for k, nd in enumerate(pick):
        tw = []
        if k % 3 == 0:
            s = int(rng.integers(9 * 60, 14 * 60))
            tw = [(s, s + 90)]
        vs.append(Visit(f"v{k}", float(g.lat[nd]), float(g.lon[nd]), 5, 1 + k % 4, tw))
    shift = Shift(9 * 60, 19 * 60)
    plain = plan_day(city, start=post, visits=vs, shift=shift, mode="walk", polish_s=0)
    polished = plan_day(city, start=post, visits=vs, shift=shift, mode="walk", polish_s=1.0)
    _check_plan(polished, vs, shift)
    # All 60 fit (PyVRP finds such tours in the benchmark); VROOM alone kept 59 here.
    assert len(polished.visit_ids) == 60 >= len(plain.visit_ids)
    assert polished.solver["engine"] in ("vroom", "vroom+pyvrp")

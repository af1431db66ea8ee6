"""Properties checked with hypothesis: one precinct per point, idempotent address folding,
plans that visit each kept stop once inside its windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_service.address_text import fold, normalize_house
from geo_service.bundle import load_bundle
from geo_service.lookup.service import Lookup
from tests.conftest import DLAT, DLON, LAT0, LON0

KAZAKH = "абвгғдеёжзийкқлмнңоөпрсстуұүфхһцчшщъыіьэюяәАБВГҒДЕЁЖЗИЙКҚЛМНҢОӨПРСТУҰҮФХҺЦЧШЩЪЫІЬЭЮЯӘ"
LATIN = "abcdefghijklmnopqrstuvwxyzäğıñöşūüçABCDEFGHIJKLMNOPQRSTUVWXYZ"
TEXT = st.text(alphabet=KAZAKH + LATIN + "0123456789 .,-/№()", max_size=60)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                    database=None)


@given(TEXT)
@settings(max_examples=300, deadline=None, database=None)
def test_fold_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


@given(st.text(alphabet="0123456789абвгАБВ/-к ", max_size=12))
@settings(max_examples=200, deadline=None, database=None)
def test_house_normalisation_is_idempotent(text: str) -> None:
    once = normalize_house(text)
    assert normalize_house(once) == once


@pytest.fixture(scope="module")
def derived_city(tmp_path_factory: pytest.TempPathFactory) -> Lookup:
    from geo_service.ingest.build import BuildOptions, build_city
    from tests.conftest import tiny_city_xml

    tmp = tmp_path_factory.mktemp("props")
    (tmp / "tiny.osm").write_text(tiny_city_xml(), encoding="utf-8")
    build_city(BuildOptions(osm=tmp / "tiny.osm", out=tmp / "b"))
    return Lookup(load_bundle(tmp / "b"))


@given(st.floats(-0.3, 3.3), st.floats(-0.3, 3.3))
@settings(max_examples=300, deadline=None, database=None)
def test_every_point_in_the_city_has_exactly_one_precinct(derived_city: Lookup, i: float, j: float) -> None:
    lat, lon = LAT0 + i * DLAT, LON0 + j * DLON
    union = shapely.union_all(derived_city.geoms)
    found = derived_city.locate(lat, lon)
    if not union.contains(shapely.Point(lon, lat)):
        return
    assert found is not None
    inside = [k for k, g in enumerate(derived_city.geoms) if g.intersects(shapely.Point(lon, lat))]
    assert found.index in inside
    if len(inside) == 1:
        assert not found.on_border
    batch, _ = derived_city.locate_many(np.array([lat]), np.array([lon]))
    assert batch[0] == found.index


@given(st.lists(st.tuples(st.floats(0, 3), st.floats(0, 1.4), st.integers(1, 4), st.integers(0, 2)),
                min_size=1, max_size=7))
@SETTINGS
def test_plan_visits_each_stop_once_within_windows(built_tiny: Path, spec: list[tuple[float, float, int, int]]) -> None:
    from geo_service.routes.day import plan_day
    from geo_service.routes.model import Shift, Visit

    city = load_bundle(built_tiny)
    windows = {0: [], 1: [(600, 720)], 2: [(540, 600), (840, 900)]}
    visits = [Visit(id=f"v{k}", lat=LAT0 + i * DLAT, lon=LON0 + j * DLON, service_min=20, priority=p,
                    time_windows=windows[w]) for k, (i, j, p, w) in enumerate(spec)]
    post = (LAT0 + 0.3 * DLAT, LON0 + 0.3 * DLON)
    plan = plan_day(city, start=post, visits=visits, shift=Shift(start_min=540, end_min=720))
    made = [s.visit_id for s in plan.stops if s.kind == "visit"]
    assert len(made) == len(set(made))
    assert set(made) | {u.visit_id for u in plan.unassigned} == {v.id for v in visits}
    assert not set(made) & {u.visit_id for u in plan.unassigned}
    by_id = {v.id: v for v in visits}
    for s in plan.stops:
        if s.kind == "visit" and by_id[s.visit_id].time_windows:
            assert any(a - 1e-6 <= s.start_min <= b + 1e-6 for a, b in by_id[s.visit_id].time_windows)
        assert s.arrival_min <= s.start_min + 1e-6 <= s.departure_min + 1e-6
    # A visit left out for lack of time was not crowded out by less important visits: planning
    # it with only the kept visits of its class or higher, it still does not fit without
    # dropping one of those.
    for u in plan.unassigned:
        if u.code not in ("priority", "capacity", "shift"):
            continue
        rival = [by_id[v] for v in made if by_id[v].priority <= u.priority]
        if len(rival) == len([v for v in made]):
            continue  # nothing less important was kept
        again = plan_day(city, start=post, visits=[*rival, by_id[u.visit_id]], shift=Shift(start_min=540, end_min=720))
        made_again = {s.visit_id for s in again.stops if s.kind == "visit"}
        assert u.visit_id not in made_again or not {v.id for v in rival} <= made_again, (spec, u)

"""Workload indicators and index on the tiny city."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo_service.bundle import load_bundle
from geo_service.errors import InputError
from geo_service.siting.demand import from_arrays
from geo_service.workload.indicators import WorkloadWeights, gini, indicators, summary, to_csv, weighted_quantile
from tests.conftest import grid_latlon


@pytest.fixture()
def city(built_tiny: Path):
    return load_bundle(built_tiny)


def test_indicators_count_what_lies_in_each_precinct(city) -> None:
    # P-01 covers columns 0-1, P-02 columns 2-3 (border at 1.5).
    pts = [grid_latlon(1, 0.5), grid_latlon(2, 0.5), grid_latlon(1, 2.5)]
    demand = from_arrays([p[0] for p in pts], [p[1] for p in pts], [100, 50, 30])
    f = indicators(city, demand=demand).set_index("precinct_id")
    assert f.loc["P-01", "residents"] == pytest.approx(150)
    assert f.loc["P-02", "residents"] == pytest.approx(30)
    assert f.loc["P-01", "addresses"] + f.loc["P-02", "addresses"] > 0
    assert f.loc["P-01", "buildings"] + f.loc["P-02", "buildings"] == 9
    # Each precinct is about 4 x 2 blocks of 200 m: 0.3-0.4 km².
    assert 0.25 < f.loc["P-01", "area_km2"] < 0.45
    assert f.road_km.sum() > 3
    # P-01's post is at grid (0.3, 0.3): residents at (1, .5) and (2, .5) are a few minutes' walk.
    assert 1 < f.loc["P-01", "walk_mean_min"] < 10
    assert f.loc["P-01", "walk_p90_min"] >= f.loc["P-01", "walk_mean_min"] - 1e-9
    assert f.loc["P-01", "drive_mean_min"] < f.loc["P-01", "walk_mean_min"]
    assert f.workload_index.mean() == pytest.approx(1.0)


def test_index_weights_and_inspectors(city) -> None:
    pts = [grid_latlon(1, 0.5), grid_latlon(1, 2.5)]
    demand = from_arrays([p[0] for p in pts], [p[1] for p in pts], [300, 100])
    only_res = WorkloadWeights(residents=1, area=0, road=0, travel=0, appeals=0)
    f = indicators(city, demand=demand, weights=only_res).set_index("precinct_id")
    # Mean residents 200: 300/200 = 1.5 and 100/200 = 0.5.
    assert f.workload_index.tolist() == pytest.approx([1.5, 0.5])
    assert f.inspectors.tolist() == [1, 1]
    assert f.workload_per_inspector.tolist() == pytest.approx([1.5, 0.5])
    assert f.attrs["weights_used"] == {"residents": 1.0}
    with pytest.raises(InputError):
        WorkloadWeights(residents=-1)
    with pytest.raises(InputError):
        WorkloadWeights.from_mapping({"residents": 1, "bogus": 2})
    assert WorkloadWeights.from_mapping({"residents": "2", "travel_mode": "drive"}).residents == 2.0


def test_appeals_and_visits_in_a_period(city) -> None:
    a = pd.DataFrame({"lat": [grid_latlon(1, 0.5)[0]] * 3 + [grid_latlon(1, 2.5)[0]],
                      "lon": [grid_latlon(1, 0.5)[1]] * 3 + [grid_latlon(1, 2.5)[1]],
                      "received_at": ["2026-01-05", "2026-01-20", "2026-02-03", "2026-01-10"]})
    v = pd.DataFrame({"precinct_id": ["P-02", "P-02", "P-01"], "done_at": ["2026-01-02", "2026-01-03", None]})
    w = WorkloadWeights(residents=0, area=0, road=0, travel=0, appeals=1)
    f = indicators(city, appeals=a, visits=v, period=("2026-01-01", "2026-02-01"), weights=w).set_index("precinct_id")
    assert f.appeals.tolist() == [2, 1] and f.visits.tolist() == [0, 2]
    assert f.workload_index.tolist() == pytest.approx([2 / 1.5, 1 / 1.5])
    with pytest.raises(InputError):
        indicators(city, appeals=pd.DataFrame({"x": [1]}))


def test_quantile_gini_summary_and_csv(city, tmp_path: Path) -> None:
    assert weighted_quantile(np.array([1.0, 2, 3, 4]), np.array([1.0, 1, 1, 1]), 0.5) == 2
    assert weighted_quantile(np.array([1.0, 10]), np.array([9.0, 1]), 0.9) == 1
    assert weighted_quantile(np.array([1.0, 10]), np.array([8.0, 2]), 0.9) == 10
    assert gini(np.ones(5)) == pytest.approx(0)
    assert gini(np.array([0, 0, 0, 1.0])) == pytest.approx(0.75)
    f = indicators(city)
    s = summary(f)
    assert s["n"] == 2 and s["max_min_ratio"] >= 1
    text = to_csv(f, tmp_path / "w.csv")
    assert text.splitlines()[0].startswith("precinct_id,name,residents")
    assert (tmp_path / "w.csv").read_text(encoding="utf-8") == text
    assert "'=cmd" in to_csv(pd.DataFrame({"name": ["=cmd"]}))

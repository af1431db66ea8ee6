"""Siting models: brute-force optima on tiny matrices, the tiny city, bad input, and a
cross-check against spopt's own San Francisco instance."""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo_service.bundle import load_bundle
from geo_service.errors import InputError, InputFileError
from geo_service.siting import LSCP, MCLP, MODELS, BackupCoverage, PMedian, coverage, p_median
from geo_service.siting.demand import Demand, DemandOptions, building_residents, estimate_demand, read_demand_file
from tests.conftest import grid_latlon

# ------------------------------------------------------------------ brute force


def _instance(seed: int, n: int = 9, m: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 20, size=(n, m)).astype(float)
    cost[rng.random((n, m)) < 0.15] = np.inf  # some pairs unreachable
    cost[:, 0] = np.where(np.isinf(cost[:, 0]), 25.0, cost[:, 0])  # every row reachable
    w = rng.integers(1, 10, size=n).astype(float)
    return cost, w


def _free_sets(m: int, fixed: tuple[int, ...], p: int) -> list[np.ndarray]:
    out = []
    free = [j for j in range(m) if j not in fixed]
    for combo in itertools.combinations(free, p):
        y = np.zeros(m, dtype=bool)
        y[list(combo) + list(fixed)] = True
        out.append(y)
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fixed", [(), (3,)])
def test_mclp_backup_pmedian_match_brute_force(seed: int, fixed: tuple[int, ...]) -> None:
    cost, w = _instance(seed)
    t, p = 8.0, 2
    sets = _free_sets(cost.shape[1], fixed, p)
    cov = [float(w[(cost[:, y] <= t).any(axis=1)].sum()) for y in sets]
    twice = [float((w * (0.5 * ((cost[:, y] <= t).sum(1) >= 1) + 0.5 * ((cost[:, y] <= t).sum(1) >= 2))).sum())
             for y in sets]
    med = [float((w * cost[:, y].min(axis=1)).sum()) for y in sets]
    opts = {"fixed": list(fixed), "mip_gap": 0.0}
    m = MCLP.from_cost_matrix(cost, w, service_time=t, p=p, **opts).solve()
    assert m.objective == pytest.approx(max(cov))
    assert m.solution.status == "optimal" and m.solution.gap == pytest.approx(0, abs=1e-9)
    b = BackupCoverage.from_cost_matrix(cost, w, service_time=t, p=p, **opts).solve()
    assert b.objective == pytest.approx(max(twice))
    pm = PMedian.from_cost_matrix(cost, w, p=p, **opts).solve()
    assert pm.objective == pytest.approx(min(med))
    for model in (m, b, pm):
        # Existing posts stay open and are not counted among the p new ones.
        assert model.solution.y[list(fixed)].all()
        assert len(model.chosen) == p and not set(model.chosen) & set(fixed)


@pytest.mark.parametrize("seed", range(6))
def test_lscp_matches_brute_force(seed: int) -> None:
    cost, _ = _instance(seed)
    t = 10.0
    cover = cost <= t
    m = cost.shape[1]
    best = next(k for k in range(1, m + 1) for c in itertools.combinations(range(m), k)
                if cover[:, list(c)].any(axis=1).all()) if cover.any(axis=1).all() else None
    if best is None:
        with pytest.raises(InputError, match="cannot be covered"):
            LSCP.from_cost_matrix(cost, service_time=t)
        return
    model = LSCP.from_cost_matrix(cost, service_time=t, mip_gap=0.0).solve()
    assert model.objective == best
    assert cover[:, model.solution.y].any(axis=1).all()


def test_heuristic_reports_gap_to_the_lp_bound() -> None:
    cost, w = _instance(1, n=40, m=15)
    exact = MCLP.from_cost_matrix(cost, w, service_time=6, p=3, mip_gap=0.0).solve()
    heur = MCLP.from_cost_matrix(cost, w, service_time=6, p=3, method="heuristic").solve()
    assert heur.solution.method == "greedy+lp_bound"
    assert heur.objective <= exact.objective + 1e-9 <= heur.solution.bound + 1e-6
    assert heur.solution.gap == pytest.approx((heur.solution.bound - heur.objective) / heur.solution.bound)
    pm_exact = PMedian.from_cost_matrix(cost, w, p=3, mip_gap=0.0).solve()
    pm = PMedian.from_cost_matrix(cost, w, p=3, method="heuristic").solve()
    assert pm.solution.bound <= pm_exact.objective + 1e-6 <= pm.objective + 1e-6
    assert 0 <= pm.solution.gap < 1


def test_marginal_gains_add_up() -> None:
    cost, w = _instance(2, n=30, m=10)
    model = MCLP.from_cost_matrix(cost, w, service_time=7, p=3, mip_gap=0.0).solve()
    out = model.to_dict()
    steps = out["marginal"]["steps"]
    assert out["marginal"]["method"] == "greedy_order" and len(steps) == 3
    assert sum(s["gain"] for s in steps) == pytest.approx(out["coverage"]["after"]["share"]
                                                         - out["coverage"]["before"]["share"])
    assert [s["gain"] for s in steps] == sorted((s["gain"] for s in steps), reverse=True)
    again = MCLP.from_cost_matrix(cost, w, service_time=7, p=3, mip_gap=0.0, marginal="resolve").solve()
    steps = again.to_dict()["marginal"]["steps"]
    assert [s["p"] for s in steps] == [1, 2, 3]
    assert steps[-1]["objective"] == pytest.approx(model.objective)
    assert all(a["objective"] <= b["objective"] + 1e-9 for a, b in itertools.pairwise(steps))
    json.dumps(out)  # plain JSON types only


def test_fixed_posts_cover_before_and_stay_open() -> None:
    # Three demand rows; site 0 (existing) covers row 0; sites 1 and 2 are candidates.
    cost = np.array([[1.0, 9, 9], [9, 1, 9], [9, 9, 1]])
    w = np.array([5.0, 3.0, 2.0])
    model = MCLP.from_cost_matrix(cost, w, service_time=2, p=1, fixed=[0], labels=["old", "a", "b"]).solve()
    out = model.to_dict()
    assert [s["label"] for s in out["existing"]] == ["old"]
    assert [s["label"] for s in out["chosen"]] == ["a"]
    assert out["coverage"]["before"]["share"] == pytest.approx(0.5)
    assert out["coverage"]["after"]["share"] == pytest.approx(0.8)
    assert model.objective == pytest.approx(8.0)
    lscp = LSCP.from_cost_matrix(cost, w, service_time=2, fixed=[0]).solve()
    assert lscp.objective == 2 and list(lscp.chosen) == [1, 2]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"service_time": 5, "p": 7}, "only 6 candidate"),
    ({"service_time": 5, "p": 0}, "at least 1"),
    ({"service_time": 0, "p": 1}, "must be positive"),
    ({"service_time": -3, "p": 1}, "must be positive"),
    ({"p": 1}, "needs a travel-time threshold"),
    ({"service_time": 5, "p": 2.5}, "whole number"),
    ({"service_time": 5, "p": 2, "fixed": [0, 1, 2, 3, 4, 5]}, "no candidate sites"),
    ({"service_time": 5, "p": 5, "fixed": [0, 1]}, "only 4 candidate"),
    ({"service_time": 5, "p": 1, "fixed": [9]}, "fixed site indices"),
    ({"service_time": 5, "p": 1, "method": "magic"}, "method must be"),
])
def test_bad_setups_are_rejected_before_solving(kwargs: dict, match: str) -> None:
    cost, w = _instance(0)
    with pytest.raises(InputError, match=match):
        MCLP.from_cost_matrix(cost, w, **kwargs)


def test_bad_matrices() -> None:
    with pytest.raises(InputError, match="2-D"):
        MCLP.from_cost_matrix([1.0, 2.0], service_time=1, p=1)
    with pytest.raises(InputError, match="negative"):
        MCLP.from_cost_matrix([[-1.0, 2.0]], service_time=1, p=1)
    with pytest.raises(InputError, match="3 weights for 1"):
        MCLP.from_cost_matrix([[1.0, 2.0]], [1, 2, 3], service_time=1, p=1)
    with pytest.raises(InputError, match="cannot be reached"):
        PMedian.from_cost_matrix([[np.inf, np.nan], [1.0, 2.0]], p=1)
    with pytest.raises(InputError, match="1 demand point"):
        LSCP.from_cost_matrix([[5.0, 6.0], [1.0, 2.0]], service_time=3)


# ------------------------------------------------------------- spopt cross-check


def _spopt_sf() -> tuple[np.ndarray, np.ndarray]:
    """spopt's San Francisco test instance (205 tracts x 16 stores), read as spopt's tests do."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spopt = pytest.importorskip("spopt", reason="spopt is not installed (pip install spopt)")
    import pandas as pd

    data = Path(spopt.__file__).parent / "tests" / "test_locate" / "data"
    dist = data / "SF_network_distance_candidateStore_16_censusTract_205_new.csv"
    demand = data / "SF_demand_205_centroid_uniform_weight.csv"
    if not (dist.exists() and demand.exists()):
        pytest.skip(f"spopt's San Francisco test data is not in {data}")
    piv = pd.read_csv(dist).pivot_table(values="distance", index="DestinationName", columns="name")
    weights = pd.read_csv(demand).sort_values(by=["NAME"]).reset_index()["POP2000"].to_numpy(dtype=float)
    return piv.to_numpy(), weights


def test_objectives_equal_spopt_on_san_francisco() -> None:
    cost, ai = _spopt_sf()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pulp = pytest.importorskip("pulp")
        from spopt.locate import LSCP as SLSCP
        from spopt.locate import MCLP as SMCLP
        from spopt.locate import PMedian as SPMedian

        solver = pulp.PULP_CBC_CMD(msg=False)
        s_mclp = SMCLP.from_cost_matrix(cost, ai, 5000.0, 4).solve(solver).problem.objective.value()
        s_lscp = SLSCP.from_cost_matrix(cost, 5000.0).solve(solver).problem.objective.value()
        s_pmed = SPMedian.from_cost_matrix(cost, ai, 4).solve(solver).problem.objective.value()
    mclp = MCLP.from_cost_matrix(cost, ai, service_time=5000.0, p=4, mip_gap=0.0).solve()
    lscp = LSCP.from_cost_matrix(cost, service_time=5000.0, mip_gap=0.0).solve()
    pmed = PMedian.from_cost_matrix(cost, ai, p=4, mip_gap=0.0).solve()
    assert mclp.objective == pytest.approx(s_mclp, rel=1e-12)
    assert lscp.objective == pytest.approx(s_lscp, rel=1e-12)
    assert pmed.objective == pytest.approx(s_pmed, rel=1e-9)
    # spopt's own expected figures for this instance (its test_mclp / test_p_median).
    assert mclp.to_dict()["coverage"]["after"]["share"] > 0
    assert pmed.objective / ai.sum() == pytest.approx(2982.1268579890657, rel=1e-9)


# ------------------------------------------------------------------- tiny city


def test_tiny_city_models(built_tiny: Path) -> None:
    city = load_bundle(built_tiny)
    # About 200 m blocks at 4.8 km/h: 3 minutes reach about one block and a half.
    m = MCLP.from_city(city, minutes=3, p=1, mip_gap=0.0).solve()
    out = m.to_dict()
    assert out["status"] == "optimal" and out["mode"] == "walk"
    assert out["candidates"] >= 10 and len(out["existing"]) == len(city.posts.dropna(subset=["lat"])) >= 1
    assert out["coverage"]["after"]["share"] >= out["coverage"]["before"]["share"]
    assert out["coverage"]["after"]["weight"] == pytest.approx(m.objective)
    ids = [p["precinct_id"] for p in out["precincts"]]
    assert ids == ["P-01", "P-02"]
    in_precincts = sum(p["weight"] for p in out["precincts"]) + out["outside_precincts_weight"]
    assert in_precincts == pytest.approx(out["demand"]["total_weight"])
    covered = sum(p["covered_after"] for p in out["precincts"])
    assert covered <= out["coverage"]["after"]["weight"] + 1e-6
    assert out["uncovered"]["weight"] == pytest.approx(out["demand"]["total_weight"]
                                                       - out["coverage"]["after"]["weight"])
    json.dumps(out)
    # Brute force over every candidate agrees (the instance is small).
    best = max(m.coverage(np.isin(np.arange(len(m.sites)), [j]) | m.sites.fixed)
               for j in np.flatnonzero(~m.sites.fixed))
    assert out["coverage"]["after"]["share"] == pytest.approx(best)
    # LSCP covers everything, the p-median lowers the mean time, drive mode works.
    lscp = LSCP.from_city(city, minutes=3, mip_gap=0.0).solve().to_dict()
    assert lscp["coverage"]["after"]["share"] == pytest.approx(1.0)
    pm = PMedian.from_city(city, p=2, minutes=3, existing=None, mip_gap=0.0).solve().to_dict()
    assert pm["mean_time"]["before"] is None and pm["mean_time"]["after"] > 0
    drive = BackupCoverage.from_city(city, minutes=1, p=2, mode="drive", direction="to_site").solve().to_dict()
    assert drive["coverage_twice"]["after"]["share"] >= drive["coverage_twice"]["before"]["share"]


def test_tiny_city_candidates_and_errors(built_tiny: Path) -> None:
    city = load_bundle(built_tiny)
    sites = [grid_latlon(1.5, 1.5), grid_latlon(2, 2)]
    m = MCLP.from_city(city, minutes=2, p=1, candidates=sites, candidate_labels=["A", "B"], existing=None).solve()
    assert [s["label"] for s in m.to_dict()["chosen"]] in (["A"], ["B"])
    grid = MCLP.from_city(city, minutes=2, p=1, candidates="grid", grid_spacing_m=150).solve()
    assert grid.info.candidates >= 4
    b = MCLP.from_city(city, minutes=2, p=1, candidates="buildings").solve()
    assert b.info.candidates >= 1
    a, c = grid_latlon(-0.5, -0.5), grid_latlon(1.2, 1.2)
    region = shapely.box(a[1], a[0], c[1], c[0])
    inside = MCLP.from_city(city, minutes=2, p=1, region=region).solve()
    for s in inside.to_dict()["chosen"]:
        assert shapely.contains_xy(region, s["lon"], s["lat"])
    far = shapely.box(10.0, 10.0, 10.1, 10.1)
    with pytest.raises(InputError, match="no candidate site inside the region"):
        MCLP.from_city(city, minutes=2, p=1, region=far, clip_demand=False)
    with pytest.raises(InputError, match="only"):
        MCLP.from_city(city, minutes=2, p=50, candidates=sites)
    with pytest.raises(InputError, match="must be positive"):
        MCLP.from_city(city, minutes=0, p=1)
    with pytest.raises(InputError, match="cannot be covered"):
        LSCP.from_city(city, minutes=0.2, candidates=sites, existing=None)
    with pytest.raises(InputError, match="mode"):
        MODELS["mclp"].from_city(city, minutes=2, p=1, mode="fly")


# ----------------------------------------------------------------------- demand


def test_building_residents_formula() -> None:
    import pandas as pd

    b = pd.DataFrame({"building": ["apartments", "yes", "school", "house", None],
                      "levels": [9, None, 3, None, 2], "area_m2": [500.0, 100.0, 1000.0, 80.0, 50.0]})
    r = building_residents(b, DemandOptions(m2_per_resident=25))
    assert r.tolist() == pytest.approx([500 * 9 / 25, 100 * 2 * 0.5 / 25, 0.0, 80 / 25, 50 * 2 * 0.5 / 25])
    with pytest.raises(InputError):
        building_residents(b, DemandOptions(m2_per_resident=0))


def test_estimate_demand_tiny(built_tiny: Path) -> None:
    city = load_bundle(built_tiny)
    both = estimate_demand(city)
    only_b = estimate_demand(city, source="buildings")
    only_a = estimate_demand(city, source="addresses", options=DemandOptions(residents_per_address=2))
    assert isinstance(both, Demand) and len(only_b.lat) == 9
    # The two address nodes and the police post's address lie outside every building:
    # each adds residents_per_address.
    assert len(both.lat) == 9 + 3
    assert both.total == pytest.approx(only_b.total + 3 * 3.0)
    assert only_a.total == pytest.approx(2 * len(city.addresses))
    with pytest.raises(InputError, match="unknown demand source"):
        estimate_demand(city, source="census")  # type: ignore[arg-type]


def test_demand_files(tmp_path: Path) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text("Latitude,Longitude,population\n43.25,76.9,120\n43.26,76.91,80\n", encoding="utf-8")
    lat, lon, w = read_demand_file(csv, weight="population")
    assert lat.tolist() == [43.25, 43.26] and w.tolist() == [120, 80]
    gj = tmp_path / "d.geojson"
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [76.9, 43.25]}, "properties": {"n": 4}}]}))
    d = read_demand_file(gj, weight="n")
    assert d.lon.tolist() == [76.9] and d.weight.tolist() == [4.0]
    with pytest.raises(InputFileError, match="no weight column"):
        read_demand_file(csv, weight="appeals")
    bad = tmp_path / "bad.csv"
    bad.write_text("lat,lon,weight\n43.25,76.9,-1\n", encoding="utf-8")
    with pytest.raises(InputError, match="negative"):
        read_demand_file(bad)
    bad.write_text("lat,lon,weight\n95,76.9,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="impossible"):
        read_demand_file(bad)
    with pytest.raises(InputFileError, match="no such"):
        read_demand_file(tmp_path / "none.csv")
    with pytest.raises(InputFileError, match="not a Point"):
        gj.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
             "properties": {"n": 1}}]}))
        read_demand_file(gj, weight="n")


def test_no_incumbent_within_the_time_limit_returns_the_greedy_solution(monkeypatch) -> None:
    """HiGHS can stop at its time limit without a solution: the answer is the greedy one, labelled."""
    matrix = np.array([[1.0, 9.0, 9.0], [9.0, 1.0, 9.0], [9.0, 9.0, 1.0]])
    weights = np.array([10.0, 5.0, 1.0])
    def no_incumbent(*_a: object, **_k: object) -> tuple[None, None, None, None, str]:
        return None, None, None, None, "Time limit reached"

    for module in (coverage, p_median):  # the modules whose models call run_highs
        monkeypatch.setattr(module, "run_highs", no_incumbent)
    for name, kw in (("mclp", {"p": 2}), ("lscp", {}), ("pmedian", {"p": 2}), ("backup", {"p": 2})):
        model = MODELS[name].from_cost_matrix(matrix, weights, service_time=2, method="exact", **kw).solve()
        out = model.to_dict()
        assert out["status"].startswith("greedy (Time limit reached)"), name
        assert out["method"] == "greedy" and out["gap"] is None
        assert len(out["chosen"]) >= 1

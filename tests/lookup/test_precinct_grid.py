"""The two-level precinct grid: the same answer as the exact polygon test, stored memory-mapped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from geo_service.precinct_grid import BLOCK, FINE_DEG, PrecinctGrid


def _voronoi_precincts(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pts = shapely.points(rng.uniform(76.80, 76.95, n), rng.uniform(43.20, 43.30, n))
    area = shapely.box(76.80, 43.20, 76.95, 43.30).buffer(-0.01)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=area))
    cells = shapely.intersection(cells, area)
    return cells[~shapely.is_empty(cells)]


def _exact(geoms: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    out = np.full(len(lat), -1)
    for i, g in enumerate(geoms):
        out[shapely.contains_xy(g, lon, lat) & (out < 0)] = i
    return out


def test_grid_answers_match_the_polygons(tmp_path: Path) -> None:
    geoms = _voronoi_precincts(60, 1)
    grid = PrecinctGrid.build(geoms)
    rng = np.random.default_rng(2)
    lat, lon = rng.uniform(43.19, 43.31, 200_000), rng.uniform(76.79, 76.96, 200_000)
    found, exact = grid.lookup(lat, lon)
    truth = _exact(geoms, lat, lon)
    assert np.array_equal(found[~exact], truth[~exact])  # every unmarked answer is the polygons' answer
    assert exact.mean() < 0.25 and (found[~exact] >= 0).any() and (found[~exact] == -1).any()
    # Stored and memory-mapped, the same answers.
    grid.save(tmp_path)
    loaded = PrecinctGrid.load(tmp_path)
    assert loaded is not None and isinstance(loaded.coarse, np.memmap)
    again, again_exact = loaded.lookup(lat, lon)
    assert np.array_equal(again, found) and np.array_equal(again_exact, exact)


def test_size_follows_the_borders_not_the_area() -> None:
    small = shapely.box(76.90, 43.20, 76.91, 43.21)
    far = shapely.box(80.90, 49.20, 80.91, 49.21)  # two tiny precincts 700 km apart
    grid = PrecinctGrid.build(np.array([small, far], dtype=object))
    flat_cells = (4.0 / FINE_DEG) * (6.0 / FINE_DEG)
    assert grid.nbytes < flat_cells * 4 / 50  # a flat raster of the extent would be 50x larger
    assert len(grid.fine) < 100
    found, exact = grid.lookup(np.array([43.205, 49.205, 46.0]), np.array([76.905, 80.905, 78.0]))
    assert found.tolist() == [0, 1, -1] and not exact.any()
    assert BLOCK * FINE_DEG > 0


def test_bundle_carries_its_grid(built_tiny: Path) -> None:
    from geo_service.bundle import load_bundle
    from geo_service.lookup.service import Lookup
    from tests.conftest import grid_latlon

    service = Lookup(load_bundle(built_tiny))
    assert isinstance(service.grid.coarse, np.memmap)  # read from the bundle, not rebuilt
    pts = [grid_latlon(i / 4, j / 4) for i in range(-2, 15) for j in range(-2, 15)] + [grid_latlon(60, 60)]
    lat, lon = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    found, _ = service.locate_many(lat, lon)
    one = [service.locate(a, b) for a, b in pts]
    assert found.tolist() == [-1 if x is None else x.index for x in one]
    assert (found >= 0).any() and (found == -1).any()

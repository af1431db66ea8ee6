"""Labelled Voronoi regions drawn tile by tile match one diagram of all the points."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo_service.ingest.voronoi import labelled_regions


def _labelled(n: int, seed: int, *, hole: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xy = np.unique(np.round(rng.uniform(0, 20_000, size=(n, 2)), 1), axis=0)
    if hole:  # an empty lake 7 km wide in the middle
        xy = xy[np.hypot(xy[:, 0] - 10_000, xy[:, 1] - 10_000) > 3_500]
    seeds = rng.uniform(0, 20_000, size=(12, 2))
    label = np.argmin(np.hypot(xy[:, None, 0] - seeds[None, :, 0], xy[:, None, 1] - seeds[None, :, 1]), axis=1)
    return xy, label


def _one_diagram(xy: np.ndarray, label: np.ndarray, area: shapely.Geometry) -> dict[int, shapely.Geometry]:
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=area.envelope, ordered=True))
    return {int(k): shapely.intersection(shapely.coverage_union_all(cells[label == k]), area) for k in np.unique(label)}


def test_tiles_give_the_single_diagram_where_points_are_dense() -> None:
    xy, label = _labelled(20_000, 1)
    area = shapely.buffer(shapely.box(0, 0, 20_000, 20_000), 300)
    tiled = labelled_regions(xy, label, area, tile_m=3_000, margin_m=1_000)
    whole = _one_diagram(xy, label, area)
    assert set(tiled) == set(whole)
    differ = sum(shapely.area(shapely.symmetric_difference(tiled[k], whole[k])) for k in whole)
    assert differ < 1e-6 * shapely.area(area)


@pytest.mark.parametrize("tile_m", [2_000.0, 5_000.0])
def test_every_point_lies_in_its_label_and_the_regions_partition_the_area(tile_m: float) -> None:
    xy, label = _labelled(8_000, 2, hole=True)
    area = shapely.buffer(shapely.box(0, 0, 20_000, 20_000), 300)
    regions = labelled_regions(xy, label, area, tile_m=tile_m, margin_m=500)
    keys = sorted(regions)
    geoms = np.array([regions[k] for k in keys])
    union = shapely.union_all(geoms)
    # The lake's tiles have no point within the margin: they widen it, and nothing is left uncovered.
    assert shapely.area(shapely.symmetric_difference(union, area)) < 1e-6 * shapely.area(area)
    assert abs(sum(shapely.area(geoms)) - shapely.area(union)) < 1e-6 * shapely.area(area)  # no overlap
    tree = shapely.STRtree(geoms)
    point_idx, geom_idx = tree.query(shapely.points(xy), predicate="intersects")
    owner = np.full(len(xy), -1)
    owner[point_idx] = np.array(keys)[geom_idx]
    assert (owner == label).all()


def test_no_points_no_regions() -> None:
    assert labelled_regions(np.zeros((0, 2)), np.zeros(0, dtype=np.int64), shapely.box(0, 0, 1, 1)) == {}

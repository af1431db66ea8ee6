"""The derived precincts' built-up area, drawn over thinned points, still holds every point."""

from __future__ import annotations

import numpy as np
import shapely

from geo_service.ingest.precincts import BUILT_UP_MARGIN_M, built_up_area


def test_thinned_hull_holds_every_point_and_keeps_the_shape() -> None:
    rng = np.random.default_rng(7)
    centres = rng.random((12, 2)) * 20_000  # a city of scattered quarters with gaps between
    xy = np.vstack([c + rng.normal(0, 600, (4000, 2)) for c in centres])
    area = built_up_area(xy)
    assert shapely.contains_xy(area, xy[:, 0], xy[:, 1]).all()
    full = shapely.buffer(shapely.concave_hull(shapely.multipoints(xy), ratio=0.05), BUILT_UP_MARGIN_M)
    assert abs(area.area / full.area - 1) < 0.05
    assert shapely.intersection(area, full).area / full.area > 0.95


def test_a_country_of_points_is_drawn_over_wider_squares_and_still_holds_them_all() -> None:
    rng = np.random.default_rng(11)
    centres = rng.random((30, 2)) * 200_000
    xy = np.vstack([c + rng.normal(0, 2_000, (3000, 2)) for c in centres])
    area = built_up_area(xy, max_points=5_000)  # forces squares several times THIN_M wide
    assert shapely.contains_xy(area, xy[:, 0], xy[:, 1]).all()
    fine = built_up_area(xy)
    assert shapely.intersection(area, fine).area / fine.area > 0.9

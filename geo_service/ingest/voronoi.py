"""Labelled Voronoi regions, tile by tile: the union of the Voronoi cells of each label's points,
cut to an area, with memory bounded by a tile's points rather than all of them.

A single Voronoi diagram of a country's points (6.2 M road nodes and buildings at the 14 x 14
tiling) holds GEOS's whole triangulation and every cell at once: it was most of a 10.9 GB
build peak. Here the plane is cut into square tiles of `TILE_M`. Each tile's diagram is drawn
over the points of the tile and a `MARGIN_M` band around it, its cells are merged by label and
the result is cut to the tile, so the pieces of all tiles partition the area exactly as one
diagram would wherever a place's nearest point lies within the margin (in a built-up area,
everywhere but the middle of a lake or a park wider than twice the margin; there the border
may differ from the single diagram's, and the pieces still cover the area without overlap).
A tile with no point in reach widens its band until it has some.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import shapely

__all__ = ["MARGIN_M", "TILE_M", "labelled_regions"]

TILE_M = 8000.0
MARGIN_M = 1000.0


def labelled_regions(xy: np.ndarray, label: np.ndarray, area: shapely.Geometry, *,
                     tile_m: float = TILE_M, margin_m: float = MARGIN_M) -> dict[int, shapely.Geometry]:
    """Per label, the union of its points' Voronoi cells within ``area`` (empty regions left out).

    ``xy`` holds distinct points (n, 2) in a projected CRS (metres); ``label`` their labels.
    """
    if len(xy) == 0:
        return {}
    minx, miny, maxx, maxy = shapely.bounds(area)
    nx = max(1, int(np.ceil((maxx - minx) / tile_m)))
    ny = max(1, int(np.ceil((maxy - miny) / tile_m)))
    tx = np.clip(np.floor((xy[:, 0] - minx) / tile_m).astype(np.int64), -1, nx)
    ty = np.clip(np.floor((xy[:, 1] - miny) / tile_m).astype(np.int64), -1, ny)
    # Points sorted by tile (tiles -1 and n hold what lies outside the area's box), so a
    # tile's neighbourhood is a few slices of one array.
    key = (ty + 1) * (nx + 2) + (tx + 1)
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    shapely.prepare(area)
    pieces: dict[int, list[shapely.Geometry]] = defaultdict(list)
    for j in range(ny):
        for i in range(nx):
            box = shapely.box(minx + i * tile_m, miny + j * tile_m, minx + (i + 1) * tile_m, miny + (j + 1) * tile_m)
            if not shapely.intersects(area, box):
                continue
            clip = shapely.intersection(area, box)
            if shapely.is_empty(clip):
                continue
            near = _near(xy, order, key_sorted, i, j, nx, box, margin_m)
            for k, region in _tile_regions(xy[near], label[near], clip, box, margin_m).items():
                pieces[k].append(region)
    out = {}
    for k, parts in pieces.items():
        region = parts[0] if len(parts) == 1 else shapely.union_all(parts)
        if not shapely.is_empty(region):
            out[k] = region
    return out


def _near(xy: np.ndarray, order: np.ndarray, key_sorted: np.ndarray, i: int, j: int, nx: int,
          box: shapely.Geometry, margin_m: float) -> np.ndarray:
    """Indices of the points within ``margin_m`` of the tile (widened until there is one)."""
    x0, y0, x1, y1 = shapely.bounds(box)
    tile = x1 - x0
    rows = int(key_sorted[-1]) // (nx + 2) + 1  # the rows of tiles holding points
    while True:
        reach = int(np.ceil(margin_m / tile))
        idx = []
        for dj in range(-reach, reach + 1):
            row = j + dj + 1
            if row < 0 or row >= rows:
                continue
            lo_key = row * (nx + 2) + max(0, i - reach + 1)
            hi_key = row * (nx + 2) + min(nx + 1, i + reach + 1)
            lo, hi = np.searchsorted(key_sorted, [lo_key, hi_key + 1])
            idx.append(order[lo:hi])
        cand = np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64)
        p = xy[cand]
        inside = ((p[:, 0] >= x0 - margin_m) & (p[:, 0] <= x1 + margin_m)
                  & (p[:, 1] >= y0 - margin_m) & (p[:, 1] <= y1 + margin_m))
        if inside.any():
            return np.sort(cand[inside])
        if reach > nx + rows:  # the band holds every tile: no point anywhere near
            return np.sort(cand)
        margin_m *= 2


def _tile_regions(xy: np.ndarray, label: np.ndarray, clip: shapely.Geometry, box: shapely.Geometry,
                  margin_m: float) -> dict[int, shapely.Geometry]:
    """The labels' regions within ``clip`` (one tile of the area) from the points near it."""
    if len(xy) == 0:
        return {}
    labels = np.unique(label)
    if len(labels) == 1:
        return {int(labels[0]): clip}
    # The points' own box too: a tile whose band was widened has points beyond the margin.
    x0, y0, x1, y1 = shapely.bounds(box)
    reach = shapely.box(min(x0 - margin_m, xy[:, 0].min()) - 1, min(y0 - margin_m, xy[:, 1].min()) - 1,
                        max(x1 + margin_m, xy[:, 0].max()) + 1, max(y1 + margin_m, xy[:, 1].max()) + 1)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=reach, ordered=True))
    by_label = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[by_label], labels, side="left").tolist() + [len(label)]
    out = {}
    for n, k in enumerate(labels.tolist()):
        group = cells[by_label[bounds[n]:bounds[n + 1]]]
        region = shapely.intersection(shapely.coverage_union_all(group), clip)
        if not shapely.is_empty(region):
            out[k] = region
    return out

"""What can be reached: isochrones (the area reachable in T minutes) and travel-time
matrices for other systems.

An isochrone is the 25 m buffer of the street pieces reachable within the time: one
Dijkstra bounded at T (scipy), the streets touched gathered from the reached nodes (so the
work follows what the query reaches, not the size of the graph), the partly reached edges
cut where the time runs out. The buffer is drawn on a grid of `ISO_CELL_M` cells around the
reach (the pieces sampled, dilated by a disc, the cells' outline polygonized), which costs
milliseconds where buffering thousands of street lines costs hundreds; its area stays within
a few percent of the full-detail buffer. It follows the
streets, so it does not overstate the area on long walks the way a concave hull of the
reached nodes does.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import shapely

from geo_service.errors import InputError
from geo_service.network.graph import WALK_SPEED_KPH, RoadGraph

logger = logging.getLogger(__name__)

MAX_MINUTES = 120.0
MAX_MATRIX_POINTS = 500
#: Half the width of a street a person reaches, metres.
STREET_BUFFER_M = 25.0
#: Grid cell of the isochrone's buffer, metres (the outline follows the cells' edges).
ISO_CELL_M = 10.0


class Undirected:
    """Each street once (tail < head) with its travel time and the graph's CSR matrix."""

    def __init__(self, graph: RoadGraph) -> None:
        keep = graph.tail < graph.head
        self.tail = graph.tail[keep]
        self.head = graph.head[keep]
        self.seconds = graph.time_ms[keep] / 1000.0
        self.csr = graph.csr()
        # Each node's streets (edge ids, and whether the node is the street's head), so a
        # query gathers the streets of the nodes it reached without a pass over every street.
        ends = np.concatenate([self.tail, self.head])
        order = np.argsort(ends, kind="stable")
        m = len(self.tail)
        self.inc_edge = order % m if m else order
        self.inc_is_head = order >= m
        self.inc_ptr = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=graph.n_nodes))])

    def streets_of(self, nodes: np.ndarray, dist: np.ndarray) -> np.ndarray:
        """Ids of the streets with an end in ``nodes`` (reached, finite ``dist``), each once."""
        starts = self.inc_ptr[nodes]
        counts = self.inc_ptr[nodes + 1] - starts
        pos = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        edges, is_head = self.inc_edge[pos], self.inc_is_head[pos]
        # A street with both ends reached is listed twice: keep the listing from its tail.
        return edges[~is_head | ~np.isfinite(dist[self.tail[edges]])]


_CACHE: dict[int, Undirected] = {}


def undirected(graph: RoadGraph) -> Undirected:
    """The :class:`Undirected` view of ``graph``, cached per graph."""
    key = id(graph)
    value = _CACHE.get(key)
    if value is None or value.csr.shape[0] != graph.n_nodes:
        value = _CACHE[key] = Undirected(graph)
    return value


def isochrone(graph: RoadGraph, lat: float, lon: float, minutes: float, *,
              buffer_m: float = STREET_BUFFER_M) -> dict[str, Any]:
    """The area reachable from a point within ``minutes`` over ``graph``.

    Returns
    -------
    dict
        ``geometry`` (GeoJSON Polygon/MultiPolygon, [lon, lat]), ``area_m2``,
        ``minutes``, ``snap_distance_m`` and ``reached_nodes``.
    """
    if not 0 < minutes <= MAX_MINUTES:
        msg = f"minutes must be more than 0 and at most {MAX_MINUTES:g}"
        raise InputError(msg)
    snap, segs, reached = reached_segments(graph, lat, lon, minutes)
    if len(segs) == 0:
        geom = shapely.Point(lon * graph.kx, lat * graph.ky).buffer(buffer_m, quad_segs=2)
    else:
        start = np.array([[[lon * graph.kx, lat * graph.ky], graph.xy[snap.node]]])
        geom = grid_buffer(np.concatenate([segs, start]), buffer_m)
    area = float(shapely.area(geom))
    geom = shapely.transform(geom, lambda c: np.round(c / np.array([graph.kx, graph.ky]), 6))
    return {"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom)),
            "properties": {"minutes": minutes, "mode": graph.mode, "area_m2": round(area),
                           "snap_distance_m": round(snap.distance_m, 1), "reached_nodes": reached}}


def reached_segments(graph: RoadGraph, lat: float, lon: float, minutes: float) -> tuple[Any, np.ndarray, int]:
    """The street pieces reachable within ``minutes``: (snap, (k, 2, 2) segments in the
    graph's local metres, number of nodes reached). Partly reached edges are cut where
    the time runs out, from either end."""
    from scipy.sparse.csgraph import dijkstra  # noqa: PLC0415 - scipy loaded on first use (start-up time)

    und = undirected(graph)
    snap = graph.snap(lat, lon)
    budget = minutes * 60.0 - snap.distance_m / (WALK_SPEED_KPH / 3.6)
    xy = graph.xy
    if budget <= 0:
        return snap, np.zeros((0, 2, 2)), 0
    dist = dijkstra(und.csr, indices=snap.node, limit=budget)
    reached = np.flatnonzero(np.isfinite(dist))
    touched = und.streets_of(reached, dist)
    t, h, w = und.tail[touched], und.head[touched], und.seconds[touched]
    a = np.nan_to_num(np.clip((budget - dist[t]) / w, 0, 1))  # reach from the tail end
    b = np.nan_to_num(np.clip((budget - dist[h]) / w, 0, 1))  # and from the head end
    full = a + b >= 1
    p, q = xy[t], xy[h]
    segs = np.concatenate([
        np.stack([p[full], q[full]], axis=1),
        np.stack([p[~full], p[~full] + (q[~full] - p[~full]) * a[~full, None]], axis=1),
        np.stack([q[~full], q[~full] + (p[~full] - q[~full]) * b[~full, None]], axis=1),
    ])
    segs = segs[np.linalg.norm(segs[:, 1] - segs[:, 0], axis=1) > 0.5]
    return snap, segs, len(reached)


def travel_matrix(graph: RoadGraph, sources: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """Travel times (seconds, None when unreachable) between (lat, lon) points."""
    sources = np.asarray(sources, dtype=np.float64).reshape(-1, 2)
    targets = np.asarray(targets, dtype=np.float64).reshape(-1, 2)
    for what, pts in (("sources", sources), ("targets", targets)):
        if not 1 <= len(pts) <= MAX_MATRIX_POINTS:
            msg = f"{what} must hold 1 to {MAX_MATRIX_POINTS} points"
            raise InputError(msg)
        if not (np.isfinite(pts).all() and (np.abs(pts[:, 0]) <= 90).all() and (np.abs(pts[:, 1]) <= 180).all()):
            msg = f"{what} must be [lat, lon] pairs in decimal degrees"
            raise InputError(msg)
    src, src_d = graph.snap_many(sources[:, 0], sources[:, 1])
    dst, dst_d = graph.snap_many(targets[:, 0], targets[:, 1])
    m = np.round(graph.matrix(src, dst), 1)
    rows = m.tolist()
    for i, j in zip(*np.nonzero(~np.isfinite(m))):
        rows[i][j] = None  # unreachable
    return {"mode": graph.mode, "durations_s": rows,
            "snap_distance_m": {"sources": np.round(src_d, 1).tolist(), "targets": np.round(dst_d, 1).tolist()}}


def grid_buffer(segs: np.ndarray, buffer_m: float, *, cell_m: float = ISO_CELL_M) -> shapely.Geometry:
    """The ``buffer_m`` buffer of (k, 2, 2) segments in metres, drawn on a ``cell_m`` grid.

    The segments are sampled every 0.9 cell and the cells they fall in dilated by a disc of
    ``buffer_m``; the cell edges between a covered and an uncovered cell are polygonized, and
    the faces over covered cells kept (holes stay holes), with collinear vertices dropped. The
    outline follows the cells' edges; on Andorra's 10-minute walks its area is 2-6% above the
    full-detail buffer. The cost follows the reached area, not the number of lines.
    """
    from scipy import ndimage  # noqa: PLC0415 - scipy loaded on first use (start-up time)

    p, q = segs[:, 0], segs[:, 1]
    steps = np.maximum(1, np.ceil(np.linalg.norm(q - p, axis=1) / (0.9 * cell_m)).astype(np.int64))
    seg = np.repeat(np.arange(len(segs)), steps + 1)
    first = np.repeat(np.cumsum(steps + 1) - (steps + 1), steps + 1)
    frac = (np.arange(seg.size) - first) / np.repeat(steps, steps + 1)
    pts = p[seg] + (q[seg] - p[seg]) * frac[:, None]
    r = int(np.ceil(buffer_m / cell_m))
    origin = pts.min(axis=0) - (r + 2) * cell_m  # a border of empty cells all round
    ij = np.floor((pts - origin) / cell_m).astype(np.int64)
    width, height = ij.max(axis=0) + r + 3
    mask = np.zeros((height, width), dtype=bool)
    mask[ij[:, 1], ij[:, 0]] = True
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    mask = ndimage.binary_dilation(mask, structure=(xx * xx + yy * yy) * cell_m * cell_m <= buffer_m * buffer_m)
    return _cells_outline(mask, origin, cell_m)


def _cells_outline(mask: np.ndarray, origin: np.ndarray, cell_m: float) -> shapely.Geometry:
    """The polygon(s) covering the True cells of ``mask`` (row = y, column = x; empty border).

    The boundary is drawn as runs of cell edges (one line per straight run), split where two
    covered cells touch only at a corner, so the lines meet only at their ends (noded) and
    ``polygonize`` builds the faces; the faces over covered cells are kept.
    """
    x0, y0 = origin
    # A grid vertex where covered and uncovered cells alternate around it (cells touching at a corner).
    tl, tr, bl, br = mask[1:, :-1], mask[1:, 1:], mask[:-1, :-1], mask[:-1, 1:]
    cross = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=bool)
    cross[1:-1, 1:-1] = (tl == br) & (tr == bl) & (tl != tr)
    lines = np.concatenate([_runs(mask[1:, :] != mask[:-1, :], cross[1:-1, :], x0, y0, cell_m, across=False),
                            _runs((mask[:, 1:] != mask[:, :-1]).T, cross[:, 1:-1].T, x0, y0, cell_m, across=True)])
    faces = shapely.get_parts(shapely.polygonize(lines))
    inside = shapely.get_coordinates(shapely.point_on_surface(faces))
    keep = mask[np.floor((inside[:, 1] - y0) / cell_m).astype(np.int64),
                np.floor((inside[:, 0] - x0) / cell_m).astype(np.int64)]
    kept = faces[keep]
    return kept[0] if len(kept) == 1 else shapely.multipolygons(kept)


def _runs(edge: np.ndarray, cross: np.ndarray, x0: float, y0: float, cell_m: float, *,
          across: bool) -> np.ndarray:
    """Lines along the runs of ``edge[k, j]`` (the boundary on grid line k + 1, from j to j + 1),
    broken at the vertices ``cross[k, j]`` (vertex j on that line). ``across``: lines are vertical."""
    padded = np.pad(edge, ((0, 0), (1, 1)))
    starts = padded[:, 1:-1] & (~padded[:, :-2] | cross[:, :-1])
    ends = padded[:, 1:-1] & (~padded[:, 2:] | cross[:, 1:])
    k, j0 = np.nonzero(starts)
    _, j1 = np.nonzero(ends)
    line = (k + 1) * cell_m
    a, b = j0 * cell_m, (j1 + 1) * cell_m
    if across:
        coords = np.stack([np.stack([line + x0, a + y0], axis=1), np.stack([line + x0, b + y0], axis=1)], axis=1)
    else:
        coords = np.stack([np.stack([a + x0, line + y0], axis=1), np.stack([b + x0, line + y0], axis=1)], axis=1)
    return shapely.linestrings(coords)

"""What can be reached: isochrones (the area reachable in T minutes) and travel-time
matrices for other systems.

An isochrone is the 25 m buffer of the street pieces reachable within the time: a Dijkstra
bounded at T (scipy) on a window of the graph around the start, the streets touched gathered
from the reached nodes, the partly reached edges cut where the time runs out, so the work
follows what the query reaches, not the size of the graph. The buffer is drawn on a grid of
`ISO_CELL_M` cells (the pieces sampled, dilated by a disc, the covered cells outlined by
contourpy), which costs milliseconds where buffering thousands of street lines costs
hundreds; its area stays within a few percent of the full-detail buffer. It follows the
streets, so it does not overstate the area on long walks the way a concave hull of the
reached nodes does.
"""

from __future__ import annotations

import logging
import threading
import weakref
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
#: Cell of the grid that buckets nodes for a bounded search's window, metres.
WINDOW_CELL_M = 500.0
#: Most cells an isochrone's grid holds (a long drive's cells grow past `ISO_CELL_M`).
MAX_ISO_CELLS = 250_000


class Undirected:
    """Each street once (tail < head) with its travel time, and what a bounded search needs.

    A search looks only at the nodes of a window around its start: the cells of a
    `WINDOW_CELL_M` grid within ``budget x fastest plane speed`` of it (no node outside can
    be reached in time, by the triangle inequality in the graph's plane), so its cost follows
    what the query can reach, not the size of the graph.
    """

    def __init__(self, graph: RoadGraph) -> None:
        keep = graph.tail < graph.head
        self.tail = graph.tail[keep]
        self.head = graph.head[keep]
        self.seconds = graph.time_ms[keep] / 1000.0
        self.xy = graph.xy
        # Each node's streets (edge ids, and whether the node is the street's head), so a
        # query gathers the streets of the nodes it reached without a pass over every street.
        ends = np.concatenate([self.tail, self.head])
        order = np.argsort(ends, kind="stable")
        m = len(self.tail)
        self.inc_edge = order % m if m else order
        self.inc_is_head = order >= m
        self.inc_ptr = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=graph.n_nodes))])
        # The directed graph's rows (seconds), gathered per window.
        csr = graph.csr()
        self.indptr, self.indices, self.data = csr.indptr, csr.indices, csr.data
        # The fastest any edge moves across the plane (m/s): the window's radius per second.
        chord = np.linalg.norm(self.xy[graph.head] - self.xy[graph.tail], axis=1)
        secs = graph.time_ms / 1000.0
        self.speed = float(np.max(chord / np.maximum(secs, 1e-3), initial=1.0))
        # Nodes bucketed by window cell: column-major keys, so a column of cells is one slice.
        self.origin = self.xy.min(axis=0) if graph.n_nodes else np.zeros(2)
        cell = np.floor((self.xy - self.origin) / WINDOW_CELL_M).astype(np.int64)
        self.rows = int(cell[:, 1].max(initial=0)) + 1
        key = cell[:, 0] * self.rows + cell[:, 1]
        self.by_cell = np.argsort(key, kind="stable")
        self.cell_key = key[self.by_cell]
        # Per thread, a node -> position array for mapping a window's nodes in O(window).
        self._threads = threading.local()

    def window(self, node: int, radius_m: float) -> np.ndarray:
        """The nodes (sorted ids) in the cells within ``radius_m`` of ``node``."""
        lo = np.floor((self.xy[node] - radius_m - self.origin) / WINDOW_CELL_M).astype(np.int64)
        hi = np.floor((self.xy[node] + radius_m - self.origin) / WINDOW_CELL_M).astype(np.int64)
        cols = np.arange(max(lo[0], 0), hi[0] + 1)
        r0, r1 = max(lo[1], 0), min(hi[1], self.rows - 1)
        a = np.searchsorted(self.cell_key, cols * self.rows + r0, side="left")
        b = np.searchsorted(self.cell_key, cols * self.rows + r1, side="right")
        return np.sort(self.by_cell[_ranges(a, b - a)])

    def search(self, node: int, budget_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Bounded Dijkstra from ``node``: (reached node ids, sorted; their seconds)."""
        from scipy.sparse import csr_matrix  # noqa: PLC0415 - scipy loaded on first use (start-up time)
        from scipy.sparse.csgraph import dijkstra  # noqa: PLC0415

        local = self.window(node, budget_s * self.speed)
        starts = self.indptr[local]
        counts = self.indptr[local + 1] - starts
        pos = _ranges(starts, counts)
        cols = self.indices[pos]
        slot = self._slot()
        slot[local] = np.arange(len(local))
        try:
            at = slot[cols]
            start = int(slot[node])
        finally:
            slot[local] = -1
        inside = at >= 0
        rows = np.repeat(np.arange(len(local)), counts)[inside]
        ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(local)))])
        sub = csr_matrix((self.data[pos][inside], at[inside], ptr), shape=(len(local), len(local)))
        dist = dijkstra(sub, indices=start, limit=budget_s)
        ok = np.isfinite(dist)
        return local[ok], dist[ok]

    def seconds_at(self, nodes: np.ndarray, reached: np.ndarray, dist: np.ndarray) -> np.ndarray:
        """The seconds of ``nodes`` in a search's answer (``reached``, ``dist``), inf if unreached."""
        slot = self._slot()
        slot[reached] = np.arange(len(reached))
        try:
            at = slot[nodes]
        finally:
            slot[reached] = -1
        return np.where(at >= 0, np.append(dist, np.inf)[at], np.inf)

    def _slot(self) -> np.ndarray:
        """This thread's node -> position array (-1 where unset; every use resets what it set)."""
        slot: np.ndarray | None = getattr(self._threads, "slot", None)
        if slot is None:
            slot = self._threads.slot = np.full(len(self.inc_ptr) - 1, -1, dtype=np.int32)
        return slot

    def streets_of(self, nodes: np.ndarray, dist: np.ndarray) -> np.ndarray:
        """Ids of the streets with an end in ``nodes`` (sorted, reached in ``dist`` seconds), each once."""
        starts = self.inc_ptr[nodes]
        counts = self.inc_ptr[nodes + 1] - starts
        pos = _ranges(starts, counts)
        edges, is_head = self.inc_edge[pos], self.inc_is_head[pos]
        # A street with both ends reached is listed twice: keep the listing from its tail.
        tail_reached = np.isfinite(self.seconds_at(self.tail[edges], nodes, dist))
        return edges[~is_head | ~tail_reached]


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The positions ``starts[k] .. starts[k] + counts[k] - 1`` of every k, concatenated."""
    return np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))


_CACHE: dict[int, tuple[weakref.ref[RoadGraph], Undirected]] = {}


def undirected(graph: RoadGraph) -> Undirected:
    """The :class:`Undirected` view of ``graph``, cached while the graph lives (an id is
    reused after a reload, so the entry also holds a weak reference to its graph)."""
    entry = _CACHE.get(id(graph))
    if entry is not None and entry[0]() is graph:
        return entry[1]
    for key, (ref, _) in list(_CACHE.items()):  # a copy: another thread may add meanwhile
        if ref() is None:
            _CACHE.pop(key, None)  # the graphs of a bundle that was reloaded away
    value = Undirected(graph)
    _CACHE[id(graph)] = (weakref.ref(graph), value)
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
    return {"type": "Feature", "geometry": _geojson(geom, np.array([graph.kx, graph.ky])),
            "properties": {"minutes": minutes, "mode": graph.mode, "area_m2": round(area),
                           "snap_distance_m": round(snap.distance_m, 1), "reached_nodes": reached}}


def _geojson(geom: shapely.Geometry, scale: np.ndarray) -> dict[str, Any]:
    """A (multi)polygon in the local plane as a GeoJSON geometry in [lon, lat] (6 decimals)."""
    polygons = []
    for poly in shapely.get_parts(geom):
        holes = shapely.get_interior_ring(poly, range(shapely.get_num_interior_rings(poly)))
        rings = [shapely.get_exterior_ring(poly), *holes]
        polygons.append([np.round(_corners(shapely.get_coordinates(r)) / scale, 6).tolist() for r in rings])
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def _corners(ring: np.ndarray) -> np.ndarray:
    """A closed ring without its collinear vertices (the grid's outline has one per cell edge)."""
    p = ring[:-1]
    before, after = p - np.roll(p, 1, axis=0), np.roll(p, -1, axis=0) - p
    kept = p[np.abs(before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]) > 1e-6]
    return np.vstack([kept, kept[:1]]) if len(kept) >= 3 else ring


def reached_segments(graph: RoadGraph, lat: float, lon: float, minutes: float) -> tuple[Any, np.ndarray, int]:
    """The street pieces reachable within ``minutes``: (snap, (k, 2, 2) segments in the
    graph's local metres, number of nodes reached). Partly reached edges are cut where
    the time runs out, from either end."""
    und = undirected(graph)
    snap = graph.snap(lat, lon)
    budget = minutes * 60.0 - snap.distance_m / (WALK_SPEED_KPH / 3.6)
    xy = graph.xy
    if budget <= 0:
        return snap, np.zeros((0, 2, 2)), 0
    reached, seconds = und.search(snap.node, budget)
    touched = und.streets_of(reached, seconds)
    t, h, w = und.tail[touched], und.head[touched], und.seconds[touched]
    at_t, at_h = und.seconds_at(np.concatenate([t, h]), reached, seconds).reshape(2, -1)
    a = np.nan_to_num(np.clip((budget - at_t) / w, 0, 1))  # reach from the tail end
    b = np.nan_to_num(np.clip((budget - at_h) / w, 0, 1))  # and from the head end
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
    ``buffer_m``, and the covered cells outlined (holes stay holes). The outline follows the
    cells' edges; on Andorra's 10-minute walks its area is 2-6% above the
    full-detail buffer. The cost follows the reached area, not the number of lines; over a
    wide reach (a long drive) the cells grow so the grid holds at most `MAX_ISO_CELLS`.
    """
    from scipy import ndimage  # noqa: PLC0415 - scipy loaded on first use (start-up time)

    p, q = segs[:, 0], segs[:, 1]
    span = np.ptp(segs.reshape(-1, 2), axis=0) + 2 * buffer_m
    cell_m = max(cell_m, float(np.sqrt(span[0] * span[1] / MAX_ISO_CELLS)))
    steps = np.maximum(1, np.ceil(np.linalg.norm(q - p, axis=1) / (0.9 * cell_m)).astype(np.int64))
    seg = np.repeat(np.arange(len(segs)), steps + 1)
    first = np.repeat(np.cumsum(steps + 1) - (steps + 1), steps + 1)
    frac = (np.arange(seg.size) - first) / np.repeat(steps, steps + 1)
    pts = p[seg] + (q[seg] - p[seg]) * frac[:, None]
    r = max(1, int(np.ceil(buffer_m / cell_m)))
    origin = pts.min(axis=0) - (r + 2) * cell_m  # a border of empty cells all round
    ij = np.floor((pts - origin) / cell_m).astype(np.int64)
    width, height = ij.max(axis=0) + r + 3
    mask = np.zeros((height, width), dtype=bool)
    mask[ij[:, 1], ij[:, 0]] = True
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    # At least the 4 neighbours: coarse cells one wide would contour as separate diamonds.
    disc = max(buffer_m, cell_m)
    mask = ndimage.binary_dilation(mask, structure=(xx * xx + yy * yy) * cell_m * cell_m <= disc * disc)
    return _cells_outline(mask, origin, cell_m)


def _cells_outline(mask: np.ndarray, origin: np.ndarray, cell_m: float) -> shapely.Geometry:
    """The polygon(s) covering the True cells of ``mask`` (row = y, column = x; empty border).

    Filled contours (contourpy's marching squares) of the mask at the level half-way between
    an uncovered and a covered cell centre: the outline runs along the cells' edges and cuts
    their corners, each outer ring with its holes.
    """
    from contourpy import FillType, contour_generator  # noqa: PLC0415 - loaded on first use (start-up time)

    x = origin[0] + (np.arange(mask.shape[1]) + 0.5) * cell_m
    y = origin[1] + (np.arange(mask.shape[0]) + 0.5) * cell_m
    gen = contour_generator(x, y, mask.astype(np.float64), name="serial", fill_type=FillType.OuterOffset)
    filled: Any = gen.filled(0.5, 2.0)  # OuterOffset: (points, offsets)
    points, offsets = filled
    polygons = []
    for pts, off in zip(points, offsets):
        rings = [pts[i:j] for i, j in zip(off[:-1], off[1:])]
        polygons.append(shapely.Polygon(rings[0], rings[1:]))
    geom = polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)
    return geom if geom.is_valid else shapely.make_valid(geom)

"""What can be reached: isochrones (the area reachable in T minutes) and travel-time
matrices for other systems.

An isochrone is the 25 m buffer of the street pieces reachable within the time: one
Dijkstra bounded at T (scipy), the partly reached edges cut where the time runs out,
merged into lines and buffered once. It follows the streets, so it does not overstate
the area on long walks the way a concave hull of the reached nodes does.
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


class Undirected:
    """Each street once (tail < head) with its travel time and the graph's CSR matrix."""

    def __init__(self, graph: RoadGraph) -> None:
        keep = graph.tail < graph.head
        self.tail = graph.tail[keep]
        self.head = graph.head[keep]
        self.seconds = graph.time_ms[keep] / 1000.0
        self.csr = graph.csr()


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
        start = np.array([[lon * graph.kx, lat * graph.ky], graph.xy[snap.node]])
        lines = shapely.multilinestrings([*shapely.linestrings(segs), shapely.linestrings(start)])
        # Simplifying the merged lines by 0.4 of the buffer first keeps the buffer cheap (area within 5%).
        merged = shapely.simplify(shapely.line_merge(lines), buffer_m / 2.5)
        geom = shapely.buffer(merged, buffer_m, quad_segs=1)
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
    dt, dh = dist[und.tail], dist[und.head]
    touched = np.isfinite(dt) | np.isfinite(dh)
    t, h, w = und.tail[touched], und.head[touched], und.seconds[touched]
    a = np.nan_to_num(np.clip((budget - dt[touched]) / w, 0, 1))  # reach from the tail end
    b = np.nan_to_num(np.clip((budget - dh[touched]) / w, 0, 1))  # and from the head end
    full = a + b >= 1
    p, q = xy[t], xy[h]
    segs = np.concatenate([
        np.stack([p[full], q[full]], axis=1),
        np.stack([p[~full], p[~full] + (q[~full] - p[~full]) * a[~full, None]], axis=1),
        np.stack([q[~full], q[~full] + (p[~full] - q[~full]) * b[~full, None]], axis=1),
    ])
    segs = segs[np.linalg.norm(segs[:, 1] - segs[:, 0], axis=1) > 0.5]
    return snap, segs, int(np.isfinite(dist).sum())


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

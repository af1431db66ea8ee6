"""Patrol loops: a prize-collecting tour from the post through the precinct's streets, and the
patrol that fills a day's spare time at the post."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from geo_service.errors import InputError
from geo_service.routes.model import DayPlan, hhmm
from geo_service.routes.network import route_segment
from geo_service.routes.vroom import UNREACHABLE


def patrol_loop(city: Any, *, post: tuple[float, float], minutes: float,
                hotspots: list[tuple[float, float]] | None = None, precinct_geometry: Any = None,
                mode: Literal["walk", "drive"] = "walk", max_points: int = 60, seed: int = 0
                ) -> dict[str, Any]:
    """A patrol loop from the post through the precinct's streets, back to the post.

    Street points are sampled evenly over the precinct (one per grid cell among the road
    nodes inside ``precinct_geometry``, or within reach of the post when it is None), each
    weighted by its closeness to the hotspots; VROOM then picks the loop that collects the
    most weight within ``minutes`` (a prize-collecting tour with a travel-time limit).

    Returns
    -------
    dict
        ``time_s``, ``length_m``, ``minutes``, ``waypoints`` ([lat, lon] in order),
        ``hotspots_visited``, ``geometry`` (GeoJSON LineString, [lon, lat]).
    """
    import vroom  # noqa: PLC0415 - loaded on first solve (start-up time)

    if mode not in ("walk", "drive"):
        msg = f"patrol mode must be walk or drive, not {mode!r}"
        raise InputError(msg)
    if not (0 < minutes <= 1440):
        msg = "patrol minutes must be between 0 and 1440"
        raise InputError(msg)
    graph = city.graph(mode)
    post_node, post_d = graph.snap_many(np.array([post[0]]), np.array([post[1]]))
    post_node = int(post_node[0])
    budget = minutes * 60
    if precinct_geometry is not None:
        import shapely  # noqa: PLC0415 - loaded on first patrol (start-up time)

        inside = shapely.contains_xy(precinct_geometry, graph.lon, graph.lat)
        cand = np.flatnonzero(inside)
    else:
        from scipy.sparse.csgraph import dijkstra  # noqa: PLC0415 - loaded on first patrol (start-up time)

        reach = dijkstra(graph.csr(), indices=post_node, limit=budget / 2)
        cand = np.flatnonzero(np.isfinite(reach))
    if len(cand) == 0:
        cand = np.array([post_node])
    # Even sampling: one node per cell of a grid sized to give about max_points cells.
    kx, ky = math.cos(math.radians(float(graph.lat[post_node]))) * 111_320.0, 110_540.0
    x, y = graph.lon[cand] * kx, graph.lat[cand] * ky
    area = max((x.max() - x.min()) * (y.max() - y.min()), 1.0)
    cell = max(math.sqrt(area / max_points), 50.0)
    keys = np.floor((x - x.min()) / cell).astype(np.int64) * 1_000_003 + np.floor((y - y.min()) / cell).astype(np.int64)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(cand))
    _, first = np.unique(keys[order], return_index=True)
    pts = cand[order[first]]
    weights = np.full(len(pts), 10.0)
    hs_nodes = np.zeros(0, dtype=np.int64)
    if hotspots:
        hlat = np.array([h[0] for h in hotspots], dtype=np.float64)
        hlon = np.array([h[1] for h in hotspots], dtype=np.float64)
        hs_nodes, _ = graph.snap_many(hlat, hlon)
        px, py = graph.lon[pts] * kx, graph.lat[pts] * ky
        d = np.hypot(px[:, None] - hlon[None, :] * kx, py[:, None] - hlat[None, :] * ky).min(axis=1)
        weights = 5.0 + 60.0 * np.exp(-d / 300.0)
        pts = np.concatenate([pts, hs_nodes])
        weights = np.concatenate([weights, np.full(len(hs_nodes), 100.0)])
    locs = np.concatenate([[post_node], pts])
    uniq, inv = np.unique(locs, return_inverse=True)
    m = graph.matrix(uniq, uniq)[np.ix_(inv, inv)]
    m = np.where(np.isfinite(m), np.rint(m), UNREACHABLE).astype(np.int64)
    inp = vroom.Input()
    inp.set_durations_matrix("car", m)
    inp.add_vehicle(vroom.Vehicle(1, start=0, end=0, max_travel_time=int(budget)))
    inp.add_job([vroom.Job(k + 1, location=k + 1, priority=int(min(100, round(w))))
                 for k, w in enumerate(weights)])
    sol = inp.solve(exploration_level=3, nb_threads=1).to_dict()
    seq = [int(s["location_index"]) for s in sol["routes"][0]["steps"]] if sol.get("routes") else [0, 0]
    coords: list[tuple[float, float]] = [(float(post[1]), float(post[0]))]
    total_t = total_len = 0.0
    for a, b in zip(seq, seq[1:]):
        seg = route_segment(graph, mode, int(locs[a]), int(locs[b]))
        coords.extend(seg.coords)
        total_t += seg.time_s
        total_len += seg.length_m
    coords.append((float(post[1]), float(post[0])))
    visited = {int(locs[i]) for i in seq}
    return {
        "mode": mode, "minutes": round(total_t / 60, 1), "time_s": round(total_t, 1),
        "length_m": round(total_len, 1), "budget_min": minutes,
        "waypoints": [[round(float(graph.lat[locs[i]]), 7), round(float(graph.lon[locs[i]]), 7)] for i in seq],
        "hotspots_visited": int(sum(1 for h in hs_nodes if int(h) in visited)),
        "hotspots": len(hs_nodes), "post_snap_m": round(float(post_d[0]), 1),
        "geometry": {"type": "LineString", "coordinates": [[round(a, 7), round(b, 7)] for a, b in coords]},
    }


#: A gap shorter than this at the post is not worth a patrol.
MIN_PATROL_MIN = 15.0


def patrol_fill(city: Any, day: DayPlan, *, post: tuple[float, float], precinct_geometry: Any,
                hotspots: list[tuple[float, float]], mode: Literal["walk", "drive"]) -> dict[str, Any] | None:
    """A patrol loop from the post in the day's longest spare time at the post: before the
    reception when the route returns early, or after the last visit until the shift ends.

    ``city`` is the loaded `CityBundle` and ``precinct_geometry`` the precinct's polygon the
    loop stays in (see `patrol_loop`); None when no gap is at least `MIN_PATROL_MIN` long.
    """
    stops = day.stops
    gaps = [(s.arrival_min, s.start_min) for s in stops if s.kind == "reception"]
    if stops and stops[-1].kind == "end":
        gaps.append((stops[-1].arrival_min, float(day.shift.end_min)))
    gaps = [(a, b) for a, b in gaps if b - a >= MIN_PATROL_MIN]
    if not gaps:
        return None
    start, end = max(gaps, key=lambda g: g[1] - g[0])
    loop = patrol_loop(city, post=post, minutes=end - start, hotspots=hotspots or None,
                       precinct_geometry=precinct_geometry, mode=mode)
    return {"start": hhmm(start), "end": hhmm(start + loop["time_s"] / 60), **loop}


__all__ = ["patrol_loop", "patrol_fill", "MIN_PATROL_MIN"]

"""The composite travel-time model of a day plan: one graph's matrix (walk, drive), or the
drive+walk matrix of rural precincts (walk within clusters of visits, drive between their
parkings), and how to draw each leg."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from geo_service.routes.model import Segment

#: Walking time within which visits are grouped in ``drive_walk`` mode (complete linkage).
CLUSTER_WALK_S = 600
#: Parking and getting out of the car, added to every drive in ``drive_walk`` mode.
PARK_S = 120


@dataclass
class Network:
    """Travel times between the plan's locations, and how to draw each leg."""

    times: np.ndarray  # (n, n) seconds, inf unreachable
    legs: Any  # callable(i, j) -> list[Segment]


def route_segment(graph: Any, mode: str, a: int, b: int) -> Segment:
    """The fastest way from node ``a`` to node ``b`` of ``graph`` as one `Segment` in ``mode``."""
    t, nodes, arcs = graph.node_route(a, b)
    idx = np.asarray(nodes if nodes else [a], dtype=np.int64)
    coords = list(zip(graph.lon[idx].tolist(), graph.lat[idx].tolist()))
    length = float(graph.length_m[np.asarray(arcs, dtype=np.int64)].sum()) if arcs else 0.0
    return Segment(mode=mode, time_s=float(t or 0.0), length_m=length, coords=coords)


def single_network(city: Any, mode: str, lat: np.ndarray, lon: np.ndarray
                   ) -> tuple[Network, np.ndarray]:
    """Travel times on one graph (``walk`` or ``drive``) between the points, and their snap distances."""
    graph = city.graph(mode)
    nodes, dist = graph.snap_many(lat, lon)
    uniq, inv = np.unique(nodes, return_inverse=True)
    m = graph.matrix(uniq, uniq)
    times = m[np.ix_(inv, inv)]

    def legs(i: int, j: int) -> list[Segment]:
        seg = route_segment(graph, mode, int(nodes[i]), int(nodes[j]))
        seg.coords = [(float(lon[i]), float(lat[i]))] + seg.coords + [(float(lon[j]), float(lat[j]))]
        return [seg]

    return Network(times=times, legs=legs), dist


def drive_walk_network(city: Any, lat: np.ndarray, lon: np.ndarray, fixed: int
                       ) -> tuple[Network, np.ndarray, np.ndarray]:
    """Composite matrix: walk within clusters of visits, drive between their parkings.

    Locations ``0..fixed-1`` are the start, end and post (reached by car); the rest are visits.
    Returns the network, the walking snap distances and the cluster of every location
    (-1 for the fixed ones).
    """
    from scipy.cluster.hierarchy import fcluster, linkage  # noqa: PLC0415 - loaded on first use (start-up time)
    from scipy.spatial.distance import squareform  # noqa: PLC0415 - loaded on first use (start-up time)

    walk, drive = city.walk, city.drive
    n = len(lat)
    vis = np.arange(fixed, n)
    w_nodes, w_dist = walk.snap_many(lat, lon)
    d_nodes, _ = drive.snap_many(lat, lon)
    uniq, inv = np.unique(w_nodes[vis], return_inverse=True)
    w = walk.matrix(uniq, uniq)[np.ix_(inv, inv)]  # visits x visits, walking
    k = len(vis)
    cluster = np.full(n, -1, dtype=np.int64)
    if k == 1:
        labels = np.zeros(1, dtype=np.int64)
    elif k > 1:
        sym = np.maximum(w, w.T)
        sym = np.where(np.isfinite(sym), sym, 1e9)
        np.fill_diagonal(sym, 0.0)
        labels = fcluster(linkage(squareform(sym, checks=False), method="complete"),
                          t=CLUSTER_WALK_S, criterion="distance") - 1
    else:
        labels = np.zeros(0, dtype=np.int64)
    cluster[vis] = labels
    n_clusters = int(labels.max()) + 1 if k else 0
    # Parking: the medoid of the cluster (least total walk to its members), on the drive graph.
    medoid = np.zeros(n_clusters, dtype=np.int64)  # index into vis
    for c in range(n_clusters):
        members = np.flatnonzero(labels == c)
        sub = w[np.ix_(members, members)]
        medoid[c] = members[int(np.argmin(np.where(np.isfinite(sub), sub, 1e9).sum(axis=1)))]
    park_node = d_nodes[vis[medoid]] if n_clusters else np.zeros(0, dtype=np.int64)
    # Drive matrix between the fixed points and the parkings.
    car_nodes = np.concatenate([d_nodes[:fixed], park_node])
    cu, cinv = np.unique(car_nodes, return_inverse=True)
    dm = drive.matrix(cu, cu)[np.ix_(cinv, cinv)]
    ncar = len(car_nodes)
    car_of = np.empty(n, dtype=np.int64)  # car place of each location: fixed point or its parking
    car_of[:fixed] = np.arange(fixed)
    car_of[vis] = fixed + labels
    walk_to_park = np.zeros(n)  # walk from location to its parking
    walk_from_park = np.zeros(n)
    for c in range(n_clusters):
        members = np.flatnonzero(labels == c)
        walk_to_park[vis[members]] = w[members, medoid[c]]
        walk_from_park[vis[members]] = w[medoid[c], members]
    times = (walk_to_park[:, None] + dm[np.ix_(car_of, car_of)] + walk_from_park[None, :]
             + PARK_S * (np.arange(n) >= fixed)[None, :])
    vi = vis[:, None], vis[None, :]
    same = labels[:, None] == labels[None, :]
    block = times[vi]
    times[vi] = np.where(same, w, block)
    np.fill_diagonal(times, 0.0)
    del ncar

    def legs(i: int, j: int) -> list[Segment]:
        ci, cj = cluster[i], cluster[j]
        pi = (lat[i], lon[i]) if ci < 0 else (lat[vis[medoid[ci]]], lon[vis[medoid[ci]]])
        pj = (lat[j], lon[j]) if cj < 0 else (lat[vis[medoid[cj]]], lon[vis[medoid[cj]]])
        if ci >= 0 and ci == cj:
            seg = route_segment(walk, "walk", int(w_nodes[i]), int(w_nodes[j]))
            seg.coords = [(float(lon[i]), float(lat[i]))] + seg.coords + [(float(lon[j]), float(lat[j]))]
            return [seg]
        out: list[Segment] = []
        if ci >= 0 and (lat[i], lon[i]) != pi:
            mi = int(vis[medoid[ci]])
            out.append(route_segment(walk, "walk", int(w_nodes[i]), int(w_nodes[mi])))
        a = int(d_nodes[i]) if ci < 0 else int(park_node[ci])
        b = int(d_nodes[j]) if cj < 0 else int(park_node[cj])
        out.append(route_segment(drive, "drive", a, b))
        if cj >= 0 and (lat[j], lon[j]) != pj:
            mj = int(vis[medoid[cj]])
            out.append(route_segment(walk, "walk", int(w_nodes[mj]), int(w_nodes[j])))
        out[0].coords.insert(0, (float(lon[i]), float(lat[i])))
        out[-1].coords.append((float(lon[j]), float(lat[j])))
        return out

    return Network(times=times, legs=legs), w_dist, cluster


__all__ = ["Network", "route_segment", "single_network", "drive_walk_network", "CLUSTER_WALK_S", "PARK_S"]

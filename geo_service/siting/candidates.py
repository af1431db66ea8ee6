"""The ``from_city`` door's plumbing: demand snapped to the road graph, existing posts and
candidate sites as site columns, and the travel times between them (bounded Dijkstra)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import shapely

from geo_service.errors import InputError
from geo_service.siting.demand import Demand, DemandOptions, DemandSource, clip, estimate_demand, from_arrays

if TYPE_CHECKING:
    import scipy.sparse as sp

    from geo_service.bundle import CityBundle
    from geo_service.network.graph import RoadGraph


Direction = Literal["from_site", "to_site"]

#: Demand or candidates farther than this from the road network are left out (reported).
MAX_SNAP_M = 500.0

#: Sources per bounded-Dijkstra batch are chosen so a batch's dense output stays under this.
DIJKSTRA_BATCH_CELLS = 8_000_000
#: Most cells of the dense demand x site travel-time matrix a p-median builds (8 bytes each:
#: 200 MB); a larger request is refused before it is built.
MAX_COST_CELLS = 25_000_000

# ------------------------------------------------------------- coverage from graph
def coverage_matrix(graph: RoadGraph, site_nodes: np.ndarray, demand_nodes: np.ndarray, limit_s: float, *,
                    direction: Direction = "from_site", deadline: float | None = None) -> sp.csr_matrix:
    """Demand x site 0/1 matrix: travel time within ``limit_s`` (bounded Dijkstra from each site).

    ``from_site`` runs on the forward graph (site -> demand); ``to_site`` on the reversed
    graph (demand -> site). Past ``deadline`` (a `time.perf_counter` value) between two
    batches of sites, `InputError` (field ``max_candidates``, rule ``request_budget``).
    """
    import scipy.sparse as sp  # noqa: PLC0415 - loaded on first solve, not at server start
    from scipy.sparse.csgraph import dijkstra  # noqa: PLC0415 - loaded on first solve, not at server start

    g = graph.csr()
    if direction == "to_site":
        g = g.T.tocsr()
    n_nodes = graph.n_nodes
    col_of = np.full(n_nodes, -1, dtype=np.int64)
    col_of[demand_nodes] = np.arange(len(demand_nodes))
    batch = max(1, DIJKSTRA_BATCH_CELLS // max(n_nodes, 1))
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    site_nodes = np.asarray(site_nodes, dtype=np.int64)
    for s in range(0, len(site_nodes), batch):
        if deadline is not None and time.perf_counter() > deadline:
            msg = (f"max_candidates: the travel times of {len(site_nodes):,} candidate sites within {limit_s / 60:g} "
                   "minutes take longer than a request may; ask for fewer candidates, a region or a shorter time")
            raise InputError(msg, field="max_candidates", rule="request_budget")
        src = site_nodes[s:s + batch]
        d = dijkstra(g, directed=True, indices=src, limit=limit_s)
        d = d[:, demand_nodes]
        k, i = np.nonzero(d <= limit_s)
        rows.append(i)
        cols.append(k + s)
    i = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    j = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    return sp.csr_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(len(demand_nodes), len(site_nodes)))

# ------------------------------------------------------------------ city helpers
def _existing(city: CityBundle, existing: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if existing is None:
        return np.zeros(0), np.zeros(0), []
    if isinstance(existing, str):
        if existing != "posts":
            msg = f"existing must be 'posts', a list of (lat, lon) or None (got {existing!r})"
            raise InputError(msg)
        posts = city.posts
        ok = posts["lat"].notna() & posts["lon"].notna()
        posts = posts[ok]
        return (posts["lat"].to_numpy(np.float64), posts["lon"].to_numpy(np.float64),
                [str(x) for x in posts["post_id"]])
    arr = _latlon_list(existing, "existing posts")
    return arr[:, 0], arr[:, 1], [f"existing-{k + 1}" for k in range(len(arr))]


def _latlon_list(values: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError) as exc:
        msg = f"{what} must be a list of (lat, lon) pairs"
        raise InputError(msg) from exc
    if not np.isfinite(arr).all() or (np.abs(arr[:, 0]) > 90).any() or (np.abs(arr[:, 1]) > 180).any():
        msg = f"{what} have missing or impossible coordinates"
        raise InputError(msg)
    return arr


def _candidates(city: CityBundle, graph: RoadGraph, kind: Any, labels: Sequence[str] | None,
                region: shapely.Geometry | None, spacing: float, max_candidates: int | None, seed: int
                ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if not isinstance(kind, str):
        arr = _latlon_list(kind, "candidate sites")
        lab = [str(x) for x in labels] if labels is not None else [f"site-{k + 1}" for k in range(len(arr))]
        if len(lab) != len(arr):
            msg = f"{len(lab)} candidate labels for {len(arr)} candidates"
            raise InputError(msg)
        lat, lon = arr[:, 0], arr[:, 1]
        generated = False
    elif kind == "nodes":
        lat, lon = graph.lat, graph.lon
        lab = None
        generated = True
    elif kind == "buildings":
        b = city.buildings()
        pts = shapely.centroid(np.asarray(b["geometry"].to_numpy(), dtype=object))
        lat, lon = shapely.get_y(pts), shapely.get_x(pts)
        lab = [f"building-{x}" for x in b["osm_id"]]
        generated = True
    elif kind == "grid":
        if not spacing > 0:
            msg = f"grid spacing must be positive (got {spacing})"
            raise InputError(msg)
        if region is not None:
            minx, miny, maxx, maxy = region.bounds
        else:
            minx, miny, maxx, maxy = city.manifest["bbox"]
        dlat = spacing / 111_195.0
        dlon = spacing / (111_195.0 * np.cos(np.radians((miny + maxy) / 2)))
        n_cells = ((maxy - miny) / dlat + 1) * ((maxx - minx) / dlon + 1)
        if n_cells > 2_000_000:
            msg = f"a {spacing:.0f} m grid over this area has {n_cells:.0f} points; use a coarser grid or a region"
            raise InputError(msg)
        gy, gx = np.meshgrid(np.arange(miny, maxy + dlat / 2, dlat), np.arange(minx, maxx + dlon / 2, dlon),
                             indexing="ij")
        lat, lon = gy.ravel(), gx.ravel()
        lab = None
        generated = True
    else:
        msg = f"candidates must be nodes, buildings, grid or a list of (lat, lon) (got {kind!r})"
        raise InputError(msg)
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if region is not None:
        shapely.prepare(region)
        inside = shapely.contains_xy(region, lon, lat)
        lat, lon = lat[inside], lon[inside]
        if lab is not None:
            lab = [lab[k] for k in np.flatnonzero(inside)]
    if generated and max_candidates is not None and len(lat) > max_candidates:
        if max_candidates < 1:
            msg = "max_candidates must be at least 1"
            raise InputError(msg)
        pick = np.sort(np.random.default_rng(seed).choice(len(lat), size=max_candidates, replace=False))
        lat, lon = lat[pick], lon[pick]
        if lab is not None:
            lab = [lab[k] for k in pick]
    if lab is None:
        prefix = "node" if kind == "nodes" else "grid"
        lab = [f"{prefix}-{la:.6f},{lo:.6f}" for la, lo in zip(lat, lon, strict=True)]
    return lat, lon, lab


def precincts_of(city: CityBundle, lat: np.ndarray, lon: np.ndarray) -> dict[str, Any]:
    """Precinct index of each point (ties on a shared border: the first precinct listed)."""
    pr = city.precincts
    names = [(str(a), str(b)) for a, b in zip(pr["precinct_id"], pr["name"], strict=True)]
    out = np.full(len(lat), -1, dtype=np.int64)
    if len(pr) and len(lat):
        tree = shapely.STRtree(np.asarray(pr["geometry"].to_numpy(), dtype=object))
        pt_idx, poly_idx = tree.query(shapely.points(lon, lat), predicate="intersects")
        order = np.lexsort((poly_idx, pt_idx))
        pt_idx, poly_idx = pt_idx[order], poly_idx[order]
        first = np.ones(len(pt_idx), dtype=bool)
        first[1:] = pt_idx[1:] != pt_idx[:-1]
        out[pt_idx[first]] = poly_idx[first]
    return {"precinct": out, "precincts": names}


class CityDemand(NamedTuple):
    """Demand points near the road network, aggregated by snapped node (one row per node)."""

    lat: np.ndarray  # the points kept
    lon: np.ndarray
    weight: np.ndarray
    row: np.ndarray  # aggregated row of each point
    nodes: np.ndarray  # road node of each row
    row_weight: np.ndarray  # summed weight of each row
    points: int  # points with weight before the distance check
    dropped_points: int  # points farther than ``max_snap_m`` from the network
    dropped_weight: float


def snap_demand(city: CityBundle, graph: RoadGraph, demand: Demand | None, *, source: DemandSource,
                options: DemandOptions | None, region: shapely.Geometry | None, clip_demand: bool,
                max_snap_m: float, mode: str) -> CityDemand:
    """Demand (estimated from the bundle when None) clipped to ``region``, snapped and aggregated."""
    demand = estimate_demand(city, source=source, options=options) if demand is None else from_arrays(*demand)
    if region is not None and clip_demand:
        demand = clip(demand, region)
    keep = demand.weight > 0
    lat, lon, w = demand.lat[keep], demand.lon[keep], demand.weight[keep]
    if len(lat) == 0:
        msg = "no demand (no residents estimated, or none inside the region)"
        raise InputError(msg)
    nodes, dist = graph.snap_many(lat, lon)
    near = dist <= max_snap_m
    n_points, dropped, dropped_weight = int(len(lat)), int((~near).sum()), float(w[~near].sum())
    lat, lon, w, nodes = lat[near], lon[near], w[near], nodes[near]
    if len(lat) == 0:
        msg = f"no demand point lies within {max_snap_m:.0f} m of the {mode} network"
        raise InputError(msg)
    demand_nodes, row = np.unique(nodes, return_inverse=True)
    weights = np.bincount(row, weights=w, minlength=len(demand_nodes))
    return CityDemand(lat, lon, w, row, demand_nodes, weights, n_points, dropped, dropped_weight)


class SiteColumns(NamedTuple):
    """Site columns on the road network: the existing posts first, then the candidates."""

    labels: list[str]
    lat: np.ndarray
    lon: np.ndarray
    node: np.ndarray
    existing: int  # how many of the columns are existing posts


def site_columns(city: CityBundle, graph: RoadGraph, existing: Any, candidates: Any, *,
                 labels: Sequence[str] | None, region: shapely.Geometry | None, spacing: float,
                 max_candidates: int | None, seed: int, max_snap_m: float, mode: str) -> SiteColumns:
    """Existing posts and candidates near the network; one candidate per road node (the first
    listed), none on an existing post's node."""
    ex_lat, ex_lon, ex_lab = _existing(city, existing)
    c_lat, c_lon, c_lab = _candidates(city, graph, candidates, labels, region, spacing, max_candidates, seed)
    if len(c_lat) == 0:
        where = "inside the region" if region is not None else "in the city"
        msg = f"no candidate site {where}"
        raise InputError(msg)
    ex_node, ex_d = graph.snap_many(ex_lat, ex_lon) if len(ex_lat) else (np.zeros(0, np.int64), np.zeros(0))
    c_node, c_d = graph.snap_many(c_lat, c_lon)
    ex_ok = ex_d <= max_snap_m
    c_ok = (c_d <= max_snap_m) & ~np.isin(c_node, ex_node[ex_ok])
    # One candidate per road node (the first listed).
    _, first = np.unique(c_node[c_ok], return_index=True)
    c_idx = np.flatnonzero(c_ok)[np.sort(first)]
    if len(c_idx) == 0:
        msg = f"no candidate site lies within {max_snap_m:.0f} m of the {mode} network (or all are existing posts)"
        raise InputError(msg)
    e_idx = np.flatnonzero(ex_ok)
    return SiteColumns(labels=[ex_lab[k] for k in e_idx] + [c_lab[k] for k in c_idx],
                       lat=np.concatenate([ex_lat[e_idx], c_lat[c_idx]]),
                       lon=np.concatenate([ex_lon[e_idx], c_lon[c_idx]]),
                       node=np.concatenate([ex_node[e_idx], c_node[c_idx]]), existing=len(e_idx))


def travel_times(graph: RoadGraph, site_nodes: np.ndarray, demand_nodes: np.ndarray, service_time: float | None,
                 *, direction: Direction, with_cost: bool, deadline: float | None = None
                 ) -> tuple[sp.csr_matrix | None, np.ndarray | None]:
    """The demand x site coverage matrix within ``service_time`` (None without one, bounded by
    ``deadline``) and, when ``with_cost``, the full demand x site travel-time matrix in seconds
    (at most `MAX_COST_CELLS` cells, else `InputError` naming ``max_candidates``)."""
    cover = cost = None
    if with_cost and len(site_nodes) * len(demand_nodes) > MAX_COST_CELLS:
        msg = (f"max_candidates: a p-median over {len(site_nodes):,} sites and {len(demand_nodes):,} demand nodes "
               f"needs {len(site_nodes) * len(demand_nodes):,} travel times; at most {MAX_COST_CELLS:,} "
               "(fewer candidates or a region)")
        raise InputError(msg, field="max_candidates", rule="cost_matrix_cap", maximum=MAX_COST_CELLS)
    if service_time is not None:
        cover = coverage_matrix(graph, site_nodes, demand_nodes, service_time, direction=direction,
                                deadline=deadline)
    if with_cost:
        if direction == "from_site":
            cost = graph.matrix(site_nodes, demand_nodes).T
        else:
            cost = graph.matrix(demand_nodes, site_nodes)
    return cover, cost

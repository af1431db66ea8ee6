"""Road blocks: hard borders cut from the walking graph, nodes grouped into connected blocks per
cell, and the additive load of each node."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from geo_service.errors import InputError
from geo_service.workload.indicators import WorkloadWeights

if TYPE_CHECKING:
    from geo_service.bundle import CityBundle
    from geo_service.siting.demand import Demand


@dataclass
class Blocks:
    """Road-network blocks: node membership, adjacency, and the additive load parts."""

    node_block: np.ndarray  # (n_nodes,) block of each node
    n: int
    lat: np.ndarray
    lon: np.ndarray
    residents: np.ndarray
    area_km2: np.ndarray
    road_km: np.ndarray
    appeals: np.ndarray
    adjacency: sp.csr_matrix  # symmetric block graph (uncut edges between blocks)
    cut_edges: int
    #: The same load parts per graph node (block values are their sums).
    node_parts: dict[str, np.ndarray] = field(default_factory=dict)

# ------------------------------------------------------------------------------ borders
def border_lines(hard_borders: Any) -> np.ndarray:
    """Hard borders as an array of linear shapely geometries (EPSG:4326)."""
    if hard_borders is None:
        return np.zeros(0, dtype=object)
    items = hard_borders if isinstance(hard_borders, (list, tuple)) else [hard_borders]
    geoms: list[Any] = []
    for entry in items:
        item = entry
        if isinstance(item, shapely.Geometry):
            geoms.append(item)
            continue
        if isinstance(item, str):
            try:
                item = json.loads(item)
            except ValueError as exc:
                msg = "hard_borders is not valid GeoJSON"
                raise InputError(msg) from exc
        if not isinstance(item, dict):
            msg = "hard_borders must be GeoJSON (a FeatureCollection, Feature or geometry) or shapely geometries"
            raise InputError(msg)
        kind = item.get("type")
        if kind == "FeatureCollection":
            geoms.extend(border_lines([f for f in item.get("features") or []]).tolist())
        elif kind == "Feature":
            if item.get("geometry"):
                geoms.extend(border_lines(item["geometry"]).tolist())
        else:
            try:
                geoms.append(shapely.from_geojson(json.dumps(item)))
            except (shapely.errors.GEOSException, ValueError) as exc:
                msg = f"hard_borders holds a geometry that cannot be read ({kind})"
                raise InputError(msg) from exc
    out = []
    for geom in geoms:
        g = geom
        if g is None or g.is_empty:
            continue
        if g.geom_type in ("Polygon", "MultiPolygon"):
            g = g.boundary
        if g.geom_type not in ("LineString", "MultiLineString", "LinearRing"):
            msg = f"hard borders are lines or polygons, not {g.geom_type}"
            raise InputError(msg)
        out.append(g)
    return np.asarray(out, dtype=object)


def cut_mask(graph: Any, borders: np.ndarray) -> np.ndarray:
    """Edges that cross or touch a border, except those running along it."""
    cut = np.zeros(graph.n_edges, dtype=bool)
    if len(borders) == 0:
        return cut
    coords = np.stack([np.column_stack([graph.lon[graph.tail], graph.lat[graph.tail]]),
                       np.column_stack([graph.lon[graph.head], graph.lat[graph.head]])], axis=1)
    edges = shapely.linestrings(coords)
    tree = shapely.STRtree(edges)
    border = shapely.union_all(borders)
    shapely.prepare(border)
    hit = tree.query(border, predicate="intersects")
    cut[hit] = True
    # An edge with both ends on the border runs along it (the border road itself).
    tol = 1e-6  # degrees, about 0.1 m
    on = shapely.dwithin(border, shapely.points(graph.lon, graph.lat), tol)
    cut &= ~(on[graph.tail] & on[graph.head])
    return cut

# ------------------------------------------------------------------------------- blocks
def build_blocks(city: CityBundle, *, cell_m: float, demand: Demand, cut: np.ndarray,
                 appeals: tuple[np.ndarray, np.ndarray] | None = None) -> Blocks:
    """Group the walking graph's nodes into connected blocks per ``cell_m`` square cell."""
    g = city.walk
    n = g.n_nodes
    lat0 = float(np.mean(g.lat))
    kx = np.cos(np.radians(lat0)) * 6_371_008.8 * np.pi / 180
    ky = 6_371_008.8 * np.pi / 180
    cx = np.floor(g.lon * kx / cell_m).astype(np.int64)
    cy = np.floor(g.lat * ky / cell_m).astype(np.int64)
    cell = (cx - cx.min()) * (cy.max() - cy.min() + 1) + (cy - cy.min())
    keep = ~cut
    t, h = g.tail[keep], g.head[keep]
    same = cell[t] == cell[h]
    inner = sp.csr_matrix((np.ones(int(same.sum())), (t[same], h[same])), shape=(n, n))
    n_blocks, node_block = connected_components(inner, directed=False)
    node_block = node_block.astype(np.int64)

    # Area: each cell's area shared among its nodes.
    _, cell_inv, cell_count = np.unique(cell, return_inverse=True, return_counts=True)
    node_area = (cell_m * cell_m / 1e6) / cell_count[cell_inv]
    area = np.bincount(node_block, weights=node_area, minlength=n_blocks)

    lo, hi = np.minimum(g.tail, g.head), np.maximum(g.tail, g.head)
    _, first = np.unique(lo.astype(np.int64) * n + hi, return_index=True)
    node_road = np.bincount(g.tail[first], weights=g.length_m[first].astype(np.float64), minlength=n) / 1000
    road = np.bincount(node_block, weights=node_road, minlength=n_blocks)

    d_nodes, _ = g.snap_many(demand.lat, demand.lon)
    node_res = np.bincount(d_nodes, weights=demand.weight, minlength=n)
    residents = np.bincount(node_block, weights=node_res, minlength=n_blocks)
    node_app = np.zeros(n)
    if appeals is not None and len(appeals[0]):
        a_nodes, _ = g.snap_many(appeals[0], appeals[1])
        node_app = np.bincount(a_nodes, minlength=n).astype(np.float64)
    app = np.bincount(node_block, weights=node_app, minlength=n_blocks)

    count = np.bincount(node_block, minlength=n_blocks)
    lat = np.bincount(node_block, weights=g.lat, minlength=n_blocks) / count
    lon = np.bincount(node_block, weights=g.lon, minlength=n_blocks) / count

    bt, bh = node_block[t], node_block[h]
    between = bt != bh
    adj = sp.csr_matrix((np.ones(int(between.sum())), (bt[between], bh[between])), shape=(n_blocks, n_blocks))
    adj = ((adj + adj.T) > 0).astype(np.int8).tocsr()
    return Blocks(node_block=node_block, n=n_blocks, lat=lat, lon=lon, residents=residents, area_km2=area,
                  road_km=road, appeals=app, adjacency=adj, cut_edges=int(cut.sum()),
                  node_parts={"residents": node_res, "area": node_area, "road": node_road, "appeals": node_app})


def node_load(blocks: Blocks, weights: WorkloadWeights, n_units: int) -> tuple[np.ndarray, dict[str, float]]:
    """The additive workload of each graph node (sum over the city = number of precincts)."""
    parts = blocks.node_parts
    used: dict[str, float] = {}
    load = np.zeros(len(blocks.node_block))
    for k, x in parts.items():
        w = float(getattr(weights, k))
        total = float(x.sum())
        if w <= 0 or total <= 0:
            continue
        used[k] = w
        load += w * x / (total / n_units)
    if not used:
        msg = "no workload component with a positive weight has any data (residents, area, road, appeals)"
        raise InputError(msg)
    s = sum(used.values())
    return load / s, {k: v / s for k, v in used.items()}

# -------------------------------------------------------------------------------- helpers
def graph_csr(graph: Any, cut: np.ndarray) -> sp.csr_matrix:
    """The graph's uncut edges as a sparse matrix of travel seconds."""
    keep = ~cut
    return sp.csr_matrix((graph.time_ms[keep] / 1000.0, (graph.tail[keep], graph.head[keep])),
                         shape=(graph.n_nodes, graph.n_nodes))


def neighbours(adj: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``indptr, indices`` of the block adjacency: block b's neighbours are
    ``indices[indptr[b]:indptr[b + 1]]``."""
    return adj.indptr, adj.indices

"""Balanced precincts: contiguous, compact territories with an even workload per inspector.

The method (`balance_precincts`)
--------------------------------
1. **Blocks.** The walking graph's nodes are grouped by square cells (``cell_m``, 250 m
   by default); a cell's nodes that the road network joins inside the cell form one
   block, so every block is connected along roads. Road edges that cross a hard border
   the planner gives (district borders, rivers, railways, major roads: GeoJSON lines or
   polygons) are cut first, so no block, and no precinct, spans a border.
2. **Load.** Each block carries the additive parts of the workload index
   (`geo_service.workload.indicators`): residents (demand snapped to the nearest node), area (the
   cell's area shared among its nodes), road length and, when given, appeals; each
   normalised by its mean per precinct and weighted by `WorkloadWeights`. Travel time is
   not added to the load: it is the compactness cost below.
3. **Baseline.** Every road node goes to the post nearest by walking time (a network
   Voronoi: one multi-source Dijkstra on the cut graph), as `derive_precincts` does.
4. **Construction** (``method``):

   * ``grow`` (default): capacitated region growing. All precincts start at their
     post's block; repeatedly the precinct with the lowest load relative to its target
     takes its nearest free neighbouring block (a priority queue per precinct, keyed by
     travel time from the post). Contiguous by construction.
   * ``mip``: the Hess et al. (1965) assignment model in HiGHS: binary ``x[b, p]`` for
     each block and its ``k_nearest`` posts, minimising ``sum load_b x time(p, b)``,
     elastic balance rows (slack penalised by `BALANCE_PENALTY`), and
     shortest-path-tree contiguity rows (a block may join post p only if a neighbour
     nearer to p joins too). Exact but slow: on the 7,000 blocks of the Almaty extract
     HiGHS does not improve on its start within a minute; for small instances.
   * ``voronoi``: an additively weighted network Voronoi whose offsets are tuned to the
     loads (a super-source Dijkstra per iteration; contiguous whatever the offsets).
     Measured on Almaty it oscillates and balances worse than ``grow``: kept for study.

5. **Contiguity repair** (``grow``, ``mip``). Pieces of a precinct not connected
   (through blocks of the same precinct) to its post's block go, whole, to the adjacent
   precinct with the lowest load; repeated until every precinct is one connected piece.
6. **Boundary moves** (``grow``, ``mip``). Local search: boundary blocks move to the
   neighbouring precinct when that lowers the imbalance (1000 x squared excess over the
   tolerance, plus the squared deviation) plus ``compactness`` x the added travel time,
   and the precinct it leaves stays connected. A block that is a cut vertex of its
   precinct (Hopcroft-Tarjan, cached per precinct until it changes) moves together with
   the branch it cuts off from the post, when that lowers the objective and leaves
   neither precinct further from its target than the worse of the two was. Several
   moves per round, each precinct in at most one.

7. **Several starts, best kept** (``grow``, ``mip``). Steps 5-6 (and the held-back pass
   below) run from the construction *and* from the nearest-post baseline (its block
   majority, contiguous along roads already), then, while ``local_time_limit`` lasts (at
   most ``restarts`` times), from perturbed copies of the best result so far (boundary
   blocks of a quarter of the precincts, out-of-band ones three times as likely, handed to
   a random neighbour, then repaired; ``seed`` fixes the draws). The result kept is the
   best by (most posts within the tolerance, then the least squared excess beyond the
   band, then the smallest max/min ratio of the load per inspector, then the fewest
   blocks moved from the baseline); every candidate is listed in
   ``summary['candidates']`` and the one kept in ``summary['start']``.

Where the geography allows (`_levels`): precincts the boundary moves cannot bring to 90%
of their target are *held back*: they keep what they have, and the others balance the
remaining load among themselves (their *level*, ``after.others_level``, relative to the
city's average per inspector). A precinct that then cannot reach 90% of that level is
held back too (two rounds). ``after.others_within_tolerance`` counts the others within
the tolerance of their level. Posts at the same block share one precinct (their
inspectors add up).

Precincts below the band are grouped by shared borders (``after.below_band_groups``):
each group's inspectors, the work it holds (in inspectors at the city's average), and
``reach_as_one`` (`merged_reach`, a heuristic test): the share of its combined target the
group reaches when its blocks become one precinct (from the current precincts, and grown
first) and the same boundary moves run again; and ``ways_out`` (`ways_out`, a bound): how
many separate ways lead out of the group's area, avoiding other posts (each precinct that
reaches work beyond the area holds one). Fewer ways than posts proves that some of the
group cannot reach the band; a group that reaches its target as one precinct and has a
way out for each post is limited by this method, not shown to be limited by the
geography. Its reasons say which.

How far from the band the proposal could be at best (`balance_bound`): the LP
relaxation, in HiGHS (interior point, 1-4 s on Almaty). Each block is shared
fractionally among the posts that could hold it in a contiguous precinct (joined to the
post's block through blocks the post may take that are no other post's block,
`_reachable`), and the sum over precincts of the load beyond their band, as a share of
their target, is minimised. Contiguity and whole blocks are relaxed, so no proposal does
better: ``after.beyond_band_lower_bound`` next to the proposal's ``after.beyond_band``.
A below-band group gets its ``shortfall`` and ``shortfall_bound`` (only the group counts,
every other precinct may take any load): a bound above zero proves the group cannot all
reach the band, whatever the others give up.

The same LP with the squares of those excesses (``measure="squared"``, each square
replaced by its tangents, which never exceed it) bounds what the boundary moves
minimise: ``after.squared_excess_lower_bound`` next to ``after.squared_excess``. The plain
sum lets one precinct carry all the excess as cheaply as many share it, so its LP piles
the overload on a few precincts; the squares do not, and compare like with like.

Compactness as a rule (``max_extra_travel_min``, 60 minutes by default,
`DEFAULT_EXTRA_TRAVEL_MIN`; None turns it off): a block may join a post at most that
many minutes' walk farther than its nearest post, so no resident's post is much farther
than the nearest one. The boundary moves, the growth, the contiguity repair and the
bound all keep the rule; the bound then says what the rule costs in balance.
``after.extra_travel`` measures compactness whatever the rule: how much farther than the
nearest post the blocks' posts are (median, 90th percentile, largest) and the share of
the load more than 60 minutes farther. A block that no post it may join can reach
through blocks it may take (block times are averages of their nodes') keeps a post that
breaks the rule; they are counted in ``after.blocks_breaking_rule`` (0 at 60 minutes on
Almaty, 39 of 7,042 at 30).

Before and after are reported as max/min ratio and Gini of the load per inspector, the
posts within the tolerance, the largest travel time from a post to a road node of its
precinct, and the blocks that move (a block's precinct is its nodes' majority). Each
precinct left outside the band gets a short reason in ``summary['after']['out_of_band']``
('cannot grow: surrounded by precincts at or below their target', '... the overloaded
neighbours' border blocks lie on the way to their posts', '... closed in by other posts'
when every way out passes another post's block, '...; post cluster' when other posts are
within a 10-minute walk, 'cannot shed: ...'; a precinct over the band but within the
tolerance of the others' level says so).

Measured on the Almaty extract (37 precincts from 40 posts, 7,042 blocks; 2-core shared
machine, ``benchmarks/bench_workload.py``), against the nearest-post baseline (2/37
within ±10%, max/min 455, Gini 0.600, largest travel 500 min):

* ``grow`` start only (first version): 1/37 within ±10% of the target, max/min 32.2,
  Gini 0.243, 4,456 blocks moved, 4.8 s;
* several starts (second version): 5-11/37 within ±10%, max/min 30, Gini 0.19-0.21,
  31-68 s;
* with no rule (the default until the compactness rule became the default): 5/37 within
  ±10% of the target, max/min 31.0, Gini 0.208, largest travel 500 min, 4,798 blocks
  moved, 42-48 s; beyond the band 9.55 against an LP bound of 0.86 (D12's, closed in),
  squared 3.96 against 0.73. Ten north-east precincts (11 inspectors, work for 3.8) stay
  below the band; merged they reach their whole target, and 9 separate ways lead out of
  their area for their 10 posts, so nothing proves the band out of reach for them. But
  the balance places a quarter of the work more than an hour's walk farther than the
  nearest post (90th percentile 147 min, largest 380 min): not compact;
* now, compact by default (``max_extra_travel_min`` 60): 1/37 within ±10%, max/min 43.2,
  Gini 0.368, 21 s; squared excess 12.96 against a lower bound of 11.29 (within 15%;
  the baseline's is 84.5), beyond the band 20.70 against 14.46. 21 precincts held back,
  18 of them one group (20 inspectors, work for 7.6) short by 8.97 targets, 8.09 of it
  proven; the other 16 within ±10% of their shared level (1.79 x the city average);
* rule 30 / 120 min: squared 18.29 / 7.75 against bounds of 15.73 / 1.09 (16 s / 48 s);
  8/37 within at 120 min, with 18% of the load more than an hour farther;
* the rule at which the bound stops forcing more than D12 out of the band
  (``--threshold``): 142-150 minutes farther than the nearest post;
* tried and dropped for a sharper bound without a rule: separator (cut) inequalities for
  contiguity, added in rounds (the LP value did not move in 40 rounds: it spreads each
  post thinly and meets every cut), and a nested-corridor count (9 ways out for the ten
  north-east posts at every radius up to 4 hours).

Under the rule the result is proven close to the best any compact proposal can do (the
squared bound); without it, or with a loose one, the LP bound drops contiguity and is far
below the proposal, so the proposal is not proven optimal. ``reach_as_one`` is a
heuristic test, not a bound.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra

from geo_service.errors import InputError
from geo_service.workload.indicators import WorkloadWeights, gini, max_min_ratio

if TYPE_CHECKING:
    from geo_service.bundle import CityBundle
    from geo_service.siting.demand import Demand

logger = logging.getLogger(__name__)

#: Penalty (minutes of travel per unit of load) of leaving a post's balance band in the MIP.
BALANCE_PENALTY = 1000.0
#: Weight of a block with no load in the travel cost (share of the mean block load).
EMPTY_BLOCK_WEIGHT = 0.05
UNREACHABLE = 1e9
#: First offset step of the weighted Voronoi, as a share of the median travel time to a post.
STEP_SHARE = 0.05
#: The compactness rule's default: a block joins a post at most this many minutes' walk
#: (about 5 km) farther than its nearest post (`balance_precincts`).
DEFAULT_EXTRA_TRAVEL_MIN = 60.0


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


@dataclass
class BalanceResult:
    """A balanced proposal and the baseline it is compared with.

    Attributes
    ----------
    units
        One row per precinct proposed: ``precinct_id, post_ids, inspectors, target``, and
        for ``before`` and ``after``: ``load``, ``per_inspector`` (1.0: the city's
        average inspector), ``residents``, ``area_km2``, ``blocks``, ``max_travel_min``.
    blocks
        One row per block: ``block, lat, lon, residents, area_km2, road_km, load,
        before, after`` (precinct ids; empty when no post reaches the block).
    summary
        ``before``/``after`` figures (``max_min_ratio``, ``gini``, ``max_travel_min``,
        ``within_tolerance``; after ``grow``/``mip`` also ``out_of_band``: precinct id ->
        short reason, and when some precinct cannot reach its band ``held_back``: the
        precincts that keep what they have, ``below_band_groups``: neighbouring precincts
        below the band with their inspectors, ``work_for_inspectors`` and
        ``reach_as_one``, ``ways_out``, ``shortfall`` and ``shortfall_bound``,
        ``others_level``, ``others_within_tolerance`` and
        ``others_max_min_ratio`` for the rest, balanced against the level they share;
        ``beyond_band`` and ``beyond_band_lower_bound``, ``squared_excess`` and
        ``squared_excess_lower_bound``, ``extra_travel`` (before too: how much farther
        than the nearest post the blocks' posts are, `extra_travel`), and with the
        extra-travel rule ``blocks_breaking_rule``),
        ``moved_blocks``,
        ``moved_residents``, ``contiguous``, ``start`` and ``candidates`` (the starts tried
        and their figures), timings.
    node_precinct
        Precinct index (row of ``units``) of every walking-graph node after balancing
        (nodes no post reaches take the nearest assigned node's precinct).
    polygons
        ``precinct_id, name, source ('proposed'), post_id, geometry`` (EPSG:4326), like
        ``city.precincts``; None when not built.
    problem
        The block problem solved (loads, targets, travel times, the posts' blocks, what
        each post may take), for studies such as the bound under other rules; not in
        `to_dict`. None for the ``voronoi`` method.
    """

    units: pd.DataFrame
    blocks: pd.DataFrame
    summary: dict[str, Any]
    node_precinct: np.ndarray = field(repr=False)
    polygons: pd.DataFrame | None = field(default=None, repr=False)
    problem: _Problem | None = field(default=None, repr=False)

    def moved(self) -> pd.DataFrame:
        """The blocks whose precinct changes: ``block, lat, lon, residents, before, after``."""
        b = self.blocks
        return b.loc[b.before != b.after, ["block", "lat", "lon", "residents", "before", "after"]]

    def to_dict(self, *, geometry: bool = True) -> dict[str, Any]:
        """JSON-ready: summary, precincts, moved blocks and (optionally) polygons as GeoJSON."""
        units = self.units.replace({np.nan: None}).to_dict(orient="records")
        moved = self.moved().round({"lat": 6, "lon": 6, "residents": 1}).to_dict(orient="records")
        out: dict[str, Any] = {"summary": self.summary, "precincts": units, "moved_blocks": moved}
        if geometry and self.polygons is not None:
            out["geojson"] = {"type": "FeatureCollection", "features": [
                {"type": "Feature", "id": r.precinct_id, "geometry": json.loads(shapely.to_geojson(r.geometry)),
                 "properties": {"precinct_id": r.precinct_id, "post_id": r.post_id, "source": r.source}}
                for r in self.polygons.itertuples(index=False)]}
        return out


# ------------------------------------------------------------------------------ borders
def _border_lines(hard_borders: Any) -> np.ndarray:
    """Hard borders as an array of linear shapely geometries (EPSG:4326)."""
    if hard_borders is None:
        return np.zeros(0, dtype=object)
    items = hard_borders if isinstance(hard_borders, (list, tuple)) else [hard_borders]
    geoms: list[Any] = []
    for item in items:
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
            geoms.extend(_border_lines([f for f in item.get("features") or []]).tolist())
        elif kind == "Feature":
            if item.get("geometry"):
                geoms.extend(_border_lines(item["geometry"]).tolist())
        else:
            try:
                geoms.append(shapely.from_geojson(json.dumps(item)))
            except (shapely.errors.GEOSException, ValueError) as exc:
                msg = f"hard_borders holds a geometry that cannot be read ({kind})"
                raise InputError(msg) from exc
    out = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        if g.geom_type in ("Polygon", "MultiPolygon"):
            g = g.boundary
        if g.geom_type not in ("LineString", "MultiLineString", "LinearRing"):
            msg = f"hard borders are lines or polygons, not {g.geom_type}"
            raise InputError(msg)
        out.append(g)
    return np.asarray(out, dtype=object)


def _cut_mask(graph: Any, borders: np.ndarray) -> np.ndarray:
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
def _graph_csr(graph: Any, cut: np.ndarray) -> sp.csr_matrix:
    keep = ~cut
    return sp.csr_matrix((graph.time_ms[keep] / 1000.0, (graph.tail[keep], graph.head[keep])),
                         shape=(graph.n_nodes, graph.n_nodes))


def _neighbours(adj: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    return adj.indptr, adj.indices


@dataclass
class _Cuts:
    """A precinct's depth-first tree: its cut blocks and what hangs off each."""

    order: np.ndarray  # blocks in discovery order
    disc: dict[int, int]
    size: dict[int, int]  # subtree sizes
    hanging: dict[int, list[int]]  # cut block -> children whose subtrees it cuts off

    def branch(self, b: int) -> np.ndarray:
        """The block and every block cut off from the post without it."""
        parts = [np.array([b])]
        for v in self.hanging.get(b, []):
            parts.append(self.order[self.disc[v]:self.disc[v] + self.size[v]])
        return np.concatenate(parts)


def _articulation(mask: np.ndarray, root: int, indptr: np.ndarray, indices: np.ndarray) -> _Cuts:
    """Cut blocks of the subgraph induced by ``mask`` (the piece holding ``root``):
    iterative Hopcroft-Tarjan low-point search, keeping the subtrees each cut block
    separates from the root."""
    disc: dict[int, int] = {root: 0}
    low: dict[int, int] = {root: 0}
    parent: dict[int, int] = {root: -1}
    size: dict[int, int] = {}
    hanging: dict[int, list[int]] = {}
    order = [root]
    stack = [(root, iter(indices[indptr[root]:indptr[root + 1]].tolist()))]
    t = 1
    while stack:
        u, it = stack[-1]
        advanced = False
        for v in it:
            if not mask[v]:
                continue
            if v not in disc:
                parent[v] = u
                disc[v] = low[v] = t
                t += 1
                order.append(v)
                stack.append((v, iter(indices[indptr[v]:indptr[v + 1]].tolist())))
                advanced = True
                break
            if v != parent[u]:
                low[u] = min(low[u], disc[v])
        if advanced:
            continue
        stack.pop()
        size[u] = t - disc[u]
        pu = parent[u]
        if pu >= 0:
            low[pu] = min(low[pu], low[u])
            if pu != root and low[u] >= disc[pu]:
                hanging.setdefault(pu, []).append(u)
    return _Cuts(order=np.asarray(order, dtype=np.int64), disc=disc, size=size, hanging=hanging)


def _components(lab: np.ndarray, adj: sp.csr_matrix) -> np.ndarray:
    """Connected pieces of equal-label blocks (label -1 blocks stay alone)."""
    coo = adj.tocoo()
    same = (lab[coo.row] == lab[coo.col]) & (lab[coo.row] >= 0)
    m = sp.csr_matrix((np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=adj.shape)
    return connected_components(m, directed=False)[1]


def repair_contiguity(lab: np.ndarray, adj: sp.csr_matrix, post_block: np.ndarray, load: np.ndarray,
                      target: np.ndarray, *, max_rounds: int = 100,
                      allowed: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Give every piece of a precinct cut off from its post to the least-loaded neighbour;
    with ``allowed`` (units, blocks), to a neighbour that may take every block of the
    piece when one can (else to the least-loaded one).

    Returns the new labels and the number of blocks moved.
    """
    lab = lab.copy()
    moved = 0
    coo = adj.tocoo()
    for _ in range(max_rounds):
        comp = _components(lab, adj)
        good_comp = np.zeros(comp.max() + 1, dtype=bool)
        good_comp[comp[post_block]] = True
        good = good_comp[comp] & (lab >= 0)
        bad = (~good) & (lab >= 0)
        if not bad.any():
            break
        unit_load = np.bincount(lab[lab >= 0], weights=load[lab >= 0], minlength=len(target))
        dev = unit_load / target
        # Edges from a bad piece into a good block of another unit.
        e = bad[coo.row] & good[coo.col] & (lab[coo.row] != lab[coo.col])
        if not e.any():
            # Pieces that touch no good block: leave them unassigned.
            lab[bad] = -1
            break
        rows, cols = coo.row[e], coo.col[e]
        pieces = comp[rows]
        fits = np.zeros(len(rows), dtype=bool)
        if allowed is not None:
            # Blocks of a piece the neighbour may not take, counted per (piece, neighbour) edge.
            bad_idx = np.flatnonzero(bad)
            srt = np.argsort(comp[bad_idx], kind="stable")
            bad_idx = bad_idx[srt]
            ids, starts = np.unique(comp[bad_idx], return_index=True)
            blocks_of = dict(zip(ids.tolist(), np.split(bad_idx, starts[1:])))
            pairs, inv = np.unique(np.stack([pieces, lab[cols]]), axis=1, return_inverse=True)
            ok_pair = np.array([bool(allowed[u, blocks_of[pc]].all()) for pc, u in pairs.T.tolist()])
            fits = ok_pair[np.ravel(inv)]
        order = np.lexsort((dev[lab[cols]], ~fits, pieces))
        pieces, cols = pieces[order], cols[order]
        first = np.ones(len(pieces), dtype=bool)
        first[1:] = pieces[1:] != pieces[:-1]
        choice = dict(zip(pieces[first].tolist(), lab[cols[first]].tolist()))
        for piece, unit in choice.items():
            sel = (comp == piece) & bad
            moved += int(sel.sum())
            lab[sel] = unit
    return lab, moved


@dataclass
class _Problem:
    load: np.ndarray
    target: np.ndarray
    tol: float
    time_min: np.ndarray  # (units, blocks) minutes, inf unreachable
    post_block: np.ndarray
    adj: sp.csr_matrix
    compactness: float
    allowed: np.ndarray  # (units, blocks) bool
    time_first: np.ndarray  # (units, blocks) minutes to the block's nearest node


def _excess(lab: np.ndarray, pb: _Problem) -> np.ndarray:
    """Per precinct, how far its load (blocks labelled ``lab``; -1: none) is outside its
    band, as a share of its target."""
    ok = lab >= 0
    ul = np.bincount(lab[ok], weights=pb.load[ok], minlength=len(pb.target))
    return np.maximum(np.abs(ul / pb.target - 1) - pb.tol, 0.0)


def _g(load_units: np.ndarray, target: np.ndarray, tol: float) -> np.ndarray:
    dev = load_units / target - 1.0
    excess = np.maximum(np.abs(dev) - tol, 0.0)
    return 1e3 * excess ** 2 + dev ** 2


def local_search(lab: np.ndarray, pb: _Problem, *, max_moves: int = 20000, time_limit: float = 20.0
                 ) -> tuple[np.ndarray, int]:
    """Boundary-block moves that keep contiguity and lower imbalance + compactness cost."""
    lab = lab.copy()
    n_units = len(pb.target)
    indptr, indices = _neighbours(pb.adj)
    coo = pb.adj.tocoo()
    er, ec = coo.row, coo.col
    is_post = np.zeros(len(lab), dtype=bool)
    is_post[pb.post_block] = True
    mean_load = float(pb.load.sum() / n_units)
    finite_t = pb.time_min[np.isfinite(pb.time_min)]
    t_scale = float(np.median(finite_t)) if len(finite_t) else 1.0
    lam = pb.compactness / (mean_load * max(t_scale, 1e-9))
    unit_load = np.bincount(lab[lab >= 0], weights=pb.load[lab >= 0], minlength=n_units)
    size = np.bincount(lab[lab >= 0], minlength=n_units)
    moves = 0
    t0 = time.perf_counter()
    # Cut blocks of each precinct, recomputed when the precinct changes.
    cuts: dict[int, tuple[int, set[int]]] = {}
    version = np.zeros(n_units, dtype=np.int64)
    while moves < max_moves and time.perf_counter() - t0 < time_limit:
        dev = unit_load / pb.target - 1.0
        if np.all(np.abs(dev) <= pb.tol):
            break
        m = (lab[er] >= 0) & (lab[ec] >= 0) & (lab[er] != lab[ec]) & ~is_post[er]
        b, p, q = er[m], lab[er[m]], lab[ec[m]]
        ok = pb.allowed[q, b]
        b, p, q = b[ok], p[ok], q[ok]
        if len(b) == 0:
            break
        lb = pb.load[b]
        gp_old, gq_old = _g(unit_load[p], pb.target[p], pb.tol), _g(unit_load[q], pb.target[q], pb.tol)
        gp_new = _g(unit_load[p] - lb, pb.target[p], pb.tol)
        gq_new = _g(unit_load[q] + lb, pb.target[q], pb.tol)
        travel = (np.maximum(lb, EMPTY_BLOCK_WEIGHT * mean_load)
                  * (pb.time_min[q, b] - pb.time_min[p, b]))
        delta = gp_new + gq_new - gp_old - gq_old + lam * travel
        order = np.argsort(delta)
        touched: set[int] = set()
        done = 0
        for k in order[:2000].tolist():
            if delta[k] >= -1e-12:
                break
            bb, pp, qq = int(b[k]), int(p[k]), int(q[k])
            # Several moves per round, each precinct in at most one (the deltas stay exact).
            if pp in touched or qq in touched or lab[bb] != pp:
                continue
            cached = cuts.get(pp)
            if cached is None or cached[0] != version[pp]:
                cached = (int(version[pp]), _articulation(lab == pp, int(pb.post_block[pp]), indptr, indices))
                cuts[pp] = cached
            if bb in cached[1].hanging:
                # A cut block: move it with everything it cuts off from the post (a branch).
                br = cached[1].branch(bb)
                if not pb.allowed[qq, br].all():
                    continue
                lbr = float(pb.load[br].sum())
                d = (_g(np.array([unit_load[pp] - lbr]), pb.target[pp:pp + 1], pb.tol)[0]
                     + _g(np.array([unit_load[qq] + lbr]), pb.target[qq:qq + 1], pb.tol)[0]
                     - _g(np.array([unit_load[pp]]), pb.target[pp:pp + 1], pb.tol)[0]
                     - _g(np.array([unit_load[qq]]), pb.target[qq:qq + 1], pb.tol)[0]
                     + lam * float((np.maximum(pb.load[br], EMPTY_BLOCK_WEIGHT * mean_load)
                                    * (pb.time_min[qq, br] - pb.time_min[pp, br])).sum()))
                # A branch may not leave either side further off than the worse was.
                worst_before = max(abs(unit_load[pp] / pb.target[pp] - 1), abs(unit_load[qq] / pb.target[qq] - 1))
                worst_after = max(abs((unit_load[pp] - lbr) / pb.target[pp] - 1),
                                  abs((unit_load[qq] + lbr) / pb.target[qq] - 1))
                if d >= -1e-12 or worst_after >= worst_before:
                    continue
                moved_blocks = br
            else:
                moved_blocks = np.array([bb])
            lmov = float(pb.load[moved_blocks].sum())
            lab[moved_blocks] = qq
            unit_load[pp] -= lmov
            unit_load[qq] += lmov
            size[pp] -= len(moved_blocks)
            size[qq] += len(moved_blocks)
            moves += 1
            done += 1
            version[pp] += 1
            version[qq] += 1
            touched.update((pp, qq))
            if len(touched) >= n_units - 1:
                break
        if not done:
            break
    return lab, moves


@dataclass
class _Candidate:
    """One start refined by repair + boundary moves, and its rank key."""

    name: str
    lab: np.ndarray
    moves: int
    repaired: int
    stuck: np.ndarray
    within: int
    ratio: float
    moved: int
    seconds: float
    #: Sum over precincts of the squared excess beyond the band (relative to the target).
    excess: float = 0.0

    @property
    def key(self) -> tuple[int, float, float, int]:
        """Smaller is better: most posts within tolerance, then the least squared excess
        beyond the band, then max/min ratio, then blocks moved."""
        return (-self.within, round(self.excess, 6), round(self.ratio, 6), self.moved)

    def info(self) -> dict[str, Any]:
        ratio = round(self.ratio, 4) if np.isfinite(self.ratio) else None  # JSON has no inf
        return {"start": self.name, "within_tolerance": self.within, "excess": round(self.excess, 4), "max_min_ratio": ratio, "moved_blocks": self.moved,
                "seconds": round(self.seconds, 2)}


def _rank(lab: np.ndarray, pb: _Problem, insp: np.ndarray, before: np.ndarray) -> tuple[int, float, int]:
    """Posts within tolerance, max/min ratio of the load per inspector, blocks moved from ``before``."""
    n_units = len(pb.target)
    ok = lab >= 0
    ul = np.bincount(lab[ok], weights=pb.load[ok], minlength=n_units)
    within = int((np.abs(ul / pb.target - 1) <= pb.tol + 1e-9).sum())
    return within, float(max_min_ratio(ul / insp)), int((lab != before).sum())


def _unit_adjacency(lab: np.ndarray, adj: sp.csr_matrix, n_units: int) -> sp.csr_matrix:
    """Which precincts share a border (blocks of one adjacent to blocks of the other)."""
    coo = adj.tocoo()
    a, b = lab[coo.row], lab[coo.col]
    m = (a >= 0) & (b >= 0) & (a != b)
    return (sp.csr_matrix((np.ones(int(m.sum())), (a[m], b[m])), shape=(n_units, n_units)) > 0).tocsr()


def limited_groups(lab: np.ndarray, adj: sp.csr_matrix, limited: np.ndarray) -> list[np.ndarray]:
    """Connected groups (by shared borders) of the precincts marked ``limited``."""
    n_units = len(limited)
    idx = np.flatnonzero(limited)
    if len(idx) == 0:
        return []
    ua = _unit_adjacency(lab, adj, n_units)[idx][:, idx]
    _, comp = connected_components(ua, directed=False)
    return [idx[comp == c] for c in np.unique(comp)]


def _levels(lab: np.ndarray, pb: _Problem, insp: np.ndarray, limited: np.ndarray) -> np.ndarray:
    """Targets where the geography allows.

    A ``limited`` precinct (one the boundary moves could not bring to its band) keeps
    the load it has; the other precincts share the rest of the city's load in
    proportion to their inspectors (their *level*). With no limited precinct these are
    the targets themselves.
    """
    n_units = len(pb.target)
    ok = lab >= 0
    ul = np.bincount(lab[ok], weights=pb.load[ok], minlength=n_units)
    levels = pb.target.copy()
    if not limited.any():
        return levels
    levels[limited] = np.maximum(ul[limited], 1e-9)
    rest = ~limited
    if rest.any():
        levels[rest] = max(float(ul.sum() - ul[limited].sum()), 1e-9) * insp[rest] / insp[rest].sum()
    return levels


def _refine(name: str, start: np.ndarray, pb: _Problem, before: np.ndarray, insp: np.ndarray, *,
            time_limit: float, rounds: int = 2) -> _Candidate:
    """Contiguity repair, boundary moves towards the targets, then towards the levels the
    geography allows (`_levels`), and a final repair.

    Precincts the boundary moves cannot bring up to (1 - tolerance) of their target are
    *limited*: they keep what they have, and the other precincts balance the rest among
    themselves. Precincts that then still fall below (1 - tolerance) of that level join
    the limited ones, for at most ``rounds`` rounds.
    """
    t0 = time.perf_counter()
    n_units = len(pb.target)
    # Blocks the start gives to a post that may not take them (the nearest-post baseline is
    # by node, the rule by block) are grown again; any no allowed post reaches keep theirs.
    bad = (start >= 0) & ~pb.allowed[np.maximum(start, 0), np.arange(len(start))]
    if bad.any():
        regrown = start.copy()
        regrown[bad] = -1
        regrown = grow_regions(pb, regrown)
        start = np.where(bad & (regrown < 0), start, regrown)
    lab, r1 = repair_contiguity(start, pb.adj, pb.post_block, pb.load, pb.target, allowed=pb.allowed)
    lab, moves = local_search(lab, pb, time_limit=time_limit / 2)
    limited = np.zeros(n_units, dtype=bool)
    levels = pb.target.copy()
    for k in range(rounds):
        ok = lab >= 0
        ul = np.bincount(lab[ok], weights=pb.load[ok], minlength=n_units)
        new = ~limited & (ul < (1 - pb.tol) * levels)
        if not new.any():
            break
        limited |= new
        if limited.all():
            break
        levels = _levels(lab, pb, insp, limited)
        left = max(time_limit - (time.perf_counter() - t0), 0.0)
        lab, m2 = local_search(lab, _Problem(**{**pb.__dict__, "target": levels}), time_limit=left / (rounds - k))
        moves += m2
    lab, r2 = repair_contiguity(lab, pb.adj, pb.post_block, pb.load, pb.target, allowed=pb.allowed)
    within, ratio, moved = _rank(lab, pb, insp, before)
    excess = float((_excess(lab, pb) ** 2).sum())
    return _Candidate(name=name, lab=lab, moves=moves, repaired=r1 + r2, stuck=limited, within=within, ratio=ratio,
                      moved=moved, seconds=time.perf_counter() - t0, excess=excess)


def ways_out(lab: np.ndarray, pb: _Problem, group: np.ndarray) -> int:
    """How many separate ways (block paths sharing no block, avoiding other posts' blocks)
    lead from the group's posts out of the group's area (its blocks in ``lab``).

    A max-flow with unit block capacities. Each precinct of the group that reaches work
    beyond its area holds one such way, so at most this many can: a bound, not a
    heuristic.
    """
    from scipy.sparse.csgraph import maximum_flow

    nb = len(pb.load)
    others = np.setdiff1d(np.arange(len(pb.target)), group)
    removed = np.zeros(nb, dtype=bool)
    removed[pb.post_block[others]] = True
    area = np.isin(lab, group)
    outside = ~area & ~removed
    if not outside.any():
        return 0
    coo = pb.adj.tocoo()
    keep = ~removed[coo.row] & ~removed[coo.col]
    big = 1 << 20
    src, snk = 2 * nb, 2 * nb + 1
    out_nodes = np.flatnonzero(outside)
    # Block b is split into b (in) -> nb + b (out), capacity 1 inside the area.
    rows = np.concatenate([np.arange(nb), nb + coo.row[keep], np.full(len(group), src), out_nodes])
    cols = np.concatenate([nb + np.arange(nb), coo.col[keep], pb.post_block[group], np.full(len(out_nodes), snk)])
    caps = np.concatenate([np.where(outside, big, 1), np.full(int(keep.sum()), big), np.full(len(group), big),
                           np.full(len(out_nodes), big)]).astype(np.int32)
    g = sp.csr_matrix((caps, (rows, cols)), shape=(2 * nb + 2, 2 * nb + 2))
    return int(maximum_flow(g, src, snk).flow_value)


def _reachable(pb: _Problem) -> np.ndarray:
    """(units, blocks): blocks a contiguous precinct of each post could hold under the
    rules: joined to its post's block through blocks it may take (``allowed``) that are
    not another post's block."""
    n_units, nb = pb.allowed.shape
    other_post = np.zeros(nb, dtype=bool)
    other_post[pb.post_block] = True
    coo = pb.adj.tocoo()
    out = np.zeros((n_units, nb), dtype=bool)
    for u in range(n_units):
        ok = pb.allowed[u] & ~other_post
        ok[pb.post_block[u]] = True
        e = ok[coo.row] & ok[coo.col]
        m = sp.csr_matrix((np.ones(int(e.sum())), (coo.row[e], coo.col[e])), shape=(nb, nb))
        _, comp = connected_components(m, directed=False)
        out[u] = ok & (comp == comp[pb.post_block[u]])
    return out


#: Tangent points of the squared excess (see `balance_bound`): dense where excesses are
#: common, sparse beyond; any set gives a valid bound, a denser one a tighter bound.
SQUARE_TANGENTS = np.concatenate([np.linspace(0.0, 1.0, 21)[1:], np.linspace(1.5, 8.0, 14), [10.0, 15.0, 25.0]])


def extra_travel(lab: np.ndarray, pb: _Problem, *, over_min: float = 60.0) -> dict[str, float | None]:
    """How far the proposal is from compact: per block, the walk from its precinct's post
    minus the walk from its nearest post (0 in the nearest-post assignment). The median,
    90th percentile and largest (minutes, over blocks) and the share of the load placed more
    than ``over_min`` minutes farther than its nearest post."""
    ok = lab >= 0
    cols = np.flatnonzero(ok)
    extra = pb.time_min[lab[cols], cols] - pb.time_min[:, cols].min(axis=0)
    fin = np.isfinite(extra)
    if not fin.any():
        return {"median_min": None, "p90_min": None, "max_min": None, f"load_share_over_{over_min:g}_min": None}
    e, w = np.maximum(extra[fin], 0.0), pb.load[cols[fin]]
    p50, p90 = np.percentile(e, [50, 90])
    return {"median_min": round(float(p50), 1), "p90_min": round(float(p90), 1), "max_min": round(float(e.max()), 1),
            f"load_share_over_{over_min:g}_min": round(float(w[e > over_min].sum() / max(w.sum(), 1e-12)), 4)}


def balance_bound(pb: _Problem, *, group: np.ndarray | None = None, reach: np.ndarray | None = None,
                  time_limit: float = 20.0, measure: str = "beyond") -> float | None:
    """A lower bound on how far precincts must stay outside the band: the LP relaxation.

    Every block is shared (fractionally) among the posts that could hold it in a
    contiguous precinct under the rules (`_reachable`), and the sum over precincts of
    the load beyond their band (relative to their target) is minimised. Contiguity and
    whole blocks are relaxed, so no proposal that keeps the rules does better (blocks no
    post can reach under them are left out): a bound above zero proves that not every
    precinct can be within the band. With ``group`` only that group's
    precincts count, and the others may take any load: a bound above zero proves the
    group falls short (in sum) even if every other precinct gave up its balance.
    ``measure="squared"`` bounds the sum of the squared excesses instead (what the boundary
    moves minimise, `_g`): each square is replaced by the most its tangents at
    `SQUARE_TANGENTS` say, which is never more than the square, so the LP value is still a
    lower bound. Unlike the plain sum, the squares do not let one precinct carry all the
    excess as cheaply as many share it.
    Returns None when HiGHS finds no answer in ``time_limit``.
    """
    from geo_service.solvers.highs import run_highs as _run_highs

    if measure not in ("beyond", "squared"):
        raise ValueError(f"measure must be 'beyond' or 'squared', not {measure!r}")

    reach = _reachable(pb) if reach is None else reach
    n_units, nb = reach.shape
    units, blks = np.nonzero(reach)
    nx = len(units)
    counted = np.ones(n_units, dtype=bool) if group is None else np.isin(np.arange(n_units), group)
    cu = np.flatnonzero(counted)
    k = len(cu)
    n = nx + 2 * k
    cost = np.concatenate([np.zeros(nx), 1.0 / pb.target[cu], 1.0 / pb.target[cu]])
    lower = np.zeros(n)
    upper = np.full(n, np.inf)
    held = np.flatnonzero(reach.any(axis=0))
    row_of = np.full(nb, -1)
    row_of[held] = np.arange(len(held))
    ld = pb.load[blks]
    r1 = sp.csr_matrix((np.ones(nx), (row_of[blks], np.arange(nx))), shape=(len(held), n))
    pos = np.full(n_units, -1)
    pos[cu] = np.arange(k)
    sel = counted[units]
    # Per counted precinct: load + short >= lo and load - over <= hi.
    rows = np.concatenate([pos[units[sel]], np.arange(k)])
    lo_rows = sp.csr_matrix((np.concatenate([ld[sel], np.ones(k)]),
                             (rows, np.concatenate([np.flatnonzero(sel), nx + np.arange(k)]))), shape=(k, n))
    hi_rows = sp.csr_matrix((np.concatenate([ld[sel], -np.ones(k)]),
                             (rows, np.concatenate([np.flatnonzero(sel), nx + k + np.arange(k)]))), shape=(k, n))
    a = sp.vstack([r1, lo_rows, hi_rows]).tocsr()
    row_lo = np.concatenate([np.ones(len(held)), (1 - pb.tol) * pb.target[cu], np.full(k, -np.inf)])
    row_hi = np.concatenate([np.ones(len(held)), np.full(k, np.inf), (1 + pb.tol) * pb.target[cu]])
    if measure == "squared":
        # q_j >= 2 t e_j - t^2 for every tangent point t, where e_j = (short_j + over_j) / target_j.
        tg = SQUARE_TANGENTS
        nt = len(tg)
        j = np.repeat(np.arange(k), nt)
        tt = np.tile(tg, k)
        r = np.arange(k * nt)
        slope = -2 * tt / pb.target[cu][j]
        tan = sp.csr_matrix((np.concatenate([np.ones(k * nt), slope, slope]),
                             (np.tile(r, 3), np.concatenate([n + j, nx + j, nx + k + j]))), shape=(k * nt, n + k))
        a = sp.vstack([sp.hstack([a, sp.csr_matrix((a.shape[0], k))]), tan]).tocsr()
        row_lo = np.concatenate([row_lo, -tt ** 2])
        row_hi = np.concatenate([row_hi, np.full(k * nt, np.inf)])
        cost = np.concatenate([np.zeros(n), np.ones(k)])
        lower, upper = np.zeros(n + k), np.full(n + k, np.inf)
        n += k
    x, obj, _bound, _gap, status = _run_highs(n, cost, lower, upper, np.zeros(n, dtype=bool), a, row_lo, row_hi,
                                              maximise=False, start=None, time_limit=time_limit, mip_gap=0.0,
                                              relax=True, solver="ipm")
    if x is None or obj is None or status != "optimal":
        return None  # only an optimal LP value is a bound
    return max(float(obj), 0.0)


def merged_reach(lab: np.ndarray, pb: _Problem, group: np.ndarray, *, time_limit: float = 3.0,
                 share: float = 0.6) -> float:
    """The share of its combined target a group of precincts reaches as ONE precinct.

    The group's blocks become one precinct (travel time: from the nearest of its posts)
    and the contiguity-keeping boundary moves run against the nominal targets, from two
    starts: the current precincts merged, and the merged group grown first (up to
    ``share`` of its target, around the other posts) with the others grown after it. The
    better reach is returned, capped at 1 (the group can hold its whole share). When even the merged group stays below its band, the work
    is not within its reach; when it reaches the band but its precincts do not, its
    posts are too many for the ways into the work. A heuristic test, not a bound.
    """
    n_units = len(pb.target)
    rest = np.setdiff1d(np.arange(n_units), group)
    newid = np.full(n_units, -1, dtype=np.int64)
    newid[group] = 0
    newid[rest] = np.arange(1, len(rest) + 1)
    lab2 = np.where(lab >= 0, newid[np.maximum(lab, 0)], -1)
    tgt = np.concatenate([[pb.target[group].sum()], pb.target[rest]])
    merged = _Problem(load=pb.load, target=tgt, tol=pb.tol,
                      time_min=np.vstack([pb.time_min[group].min(axis=0), pb.time_min[rest]]),
                      post_block=np.concatenate([[pb.post_block[group[0]]], pb.post_block[rest]]),
                      adj=pb.adj, compactness=pb.compactness,
                      allowed=np.vstack([pb.allowed[group].any(axis=0), pb.allowed[rest]]),
                      time_first=np.vstack([pb.time_first[group].min(axis=0), pb.time_first[rest]]))
    best = 0.0
    # The group's other post blocks are ordinary blocks of the merged problem; the
    # grown-first start keeps them in the group.
    first = _grow_first(merged, 0, share, seeds=pb.post_block[group])
    for start in (lab2, first):
        cur, _ = repair_contiguity(start, pb.adj, merged.post_block, pb.load, tgt)
        cur, _ = local_search(cur, merged, time_limit=time_limit / 2)
        best = max(best, float(pb.load[cur == 0].sum() / tgt[0]))
    return min(best, 1.0)


def _perturb(lab: np.ndarray, pb: _Problem, rng: np.random.Generator, *, share: float = 0.3) -> np.ndarray:
    """Shake a few precincts' borders: boundary blocks of random precincts (out-of-band ones
    first) go to a random neighbouring precinct; contiguity is repaired afterwards."""
    lab = lab.copy()
    n_units = len(pb.target)
    ok = lab >= 0
    ul = np.bincount(lab[ok], weights=pb.load[ok], minlength=n_units)
    off = np.abs(ul / pb.target - 1) > pb.tol
    weight = np.where(off, 3.0, 1.0)
    k = max(1, n_units // 4)
    chosen = rng.choice(n_units, size=min(k, n_units), replace=False, p=weight / weight.sum())
    coo = pb.adj.tocoo()
    is_post = np.zeros(len(lab), dtype=bool)
    is_post[pb.post_block] = True
    sel = np.isin(lab[coo.row], chosen) & (lab[coo.col] >= 0) & (lab[coo.row] != lab[coo.col]) & ~is_post[coo.row]
    rows, cols = coo.row[sel], coo.col[sel]
    if len(rows) == 0:
        return lab
    pick = rng.random(len(rows)) < share
    rows, to = rows[pick], lab[cols[pick]]
    allowed = pb.allowed[to, rows]
    lab[rows[allowed]] = to[allowed]
    return lab


def _out_of_band_reasons(lab: np.ndarray, pb: _Problem, unit_ids: list[str], *,
                         cluster_min: float = 10.0) -> dict[str, str]:
    """A short reason for each precinct left outside the band (block labels ``lab``)."""
    n_units = len(pb.target)
    ok = lab >= 0
    dev = np.bincount(lab[ok], weights=pb.load[ok], minlength=n_units) / pb.target - 1
    coo = pb.adj.tocoo()
    cross = ok[coo.row] & ok[coo.col] & (lab[coo.row] != lab[coo.col])
    nb: dict[int, set[int]] = {}
    outer: dict[int, set[int]] = {}  # blocks of other precincts along each precinct's border
    for a, b, cb in zip(lab[coo.row[cross]].tolist(), lab[coo.col[cross]].tolist(), coo.col[cross].tolist()):
        nb.setdefault(a, set()).add(b)
        outer.setdefault(a, set()).add(cb)
    posts = set(pb.post_block.tolist())
    out: dict[str, str] = {}
    for u in np.flatnonzero(np.abs(dev) > pb.tol + 1e-9).tolist():
        near = [v for v in range(n_units)
                if v != u and pb.time_min[u, pb.post_block[v]] <= cluster_min]
        others = nb.get(u, set())
        if dev[u] < 0:
            if not others:
                why = "cannot grow: no neighbouring precinct (closed in by hard borders)"
            elif outer.get(u, set()) <= posts:
                why = "cannot grow: closed in by other posts (every way out passes another post's block)"
            elif all(dev[v] <= pb.tol for v in others):
                why = "cannot grow: surrounded by precincts at or below their target"
            else:
                why = "cannot grow: the overloaded neighbours' border blocks lie on the way to their posts"
        elif not others:
            why = "cannot shed: no neighbouring precinct (closed in by hard borders)"
        elif all(dev[v] >= -pb.tol for v in others):
            why = "cannot shed: surrounded by precincts at or above their target"
        else:
            why = "cannot shed: its border blocks lie on the way to its post or the neighbours cannot take them"
        if near:
            why += f"; post cluster ({len(near)} other post(s) within {cluster_min:.0f} min walk)"
        out[unit_ids[u]] = why
    return out


def weighted_voronoi(csr: sp.csr_matrix, unit_node: np.ndarray, load: np.ndarray, target: np.ndarray, *,
                     tol: float, max_iter: int = 3000, time_limit: float = 30.0) -> tuple[np.ndarray, dict[str, Any]]:
    """Additively weighted network Voronoi with balancing offsets.

    Each post ``p`` starts its Dijkstra ``beta_p`` minutes late; a node goes to the post
    that reaches it first. Every node's shortest path from its post runs through nodes of
    the same post, so each precinct is connected and holds its post, whatever the
    offsets. The offsets are tuned (overloaded posts start later, underloaded earlier)
    with a decaying step; the best labelling seen (fewest posts out of tolerance, then
    the smallest squared deviation) is returned. ``beta = 0`` is the plain network Voronoi.
    """
    n = csr.shape[0]
    n_units = len(unit_node)
    csr = csr.tocsr()
    csr.sort_indices()
    order = np.argsort(unit_node)
    nodes_sorted = unit_node[order]
    indptr = np.concatenate([csr.indptr, [csr.nnz + n_units]])
    indices = np.concatenate([csr.indices, nodes_sorted]).astype(np.int32)
    beta = np.zeros(n_units)

    def labels(beta: np.ndarray) -> np.ndarray:
        w = beta - beta.min() + 1e-6
        data = np.concatenate([csr.data, w[order]])
        g = sp.csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
        _, pred = dijkstra(g, indices=n, return_predecessors=True)
        pred = pred[:n].astype(np.int64)
        ptr = np.where(pred >= 0, pred, np.arange(n))
        ptr[unit_node] = unit_node
        ptr = np.where(ptr == n, np.arange(n), ptr)
        for _ in range(64):
            nxt = ptr[ptr]
            if np.array_equal(nxt, ptr):
                break
            ptr = nxt
        unit_of_node = np.full(n + 1, -1, dtype=np.int64)
        unit_of_node[unit_node] = np.arange(n_units)
        lab = unit_of_node[ptr]
        lab[pred < 0] = -1
        lab[unit_node] = np.arange(n_units)
        return lab

    def score(lab: np.ndarray) -> tuple[float, float]:
        ok = lab >= 0
        dev = np.bincount(lab[ok], weights=load[ok], minlength=n_units) / target - 1
        excess = np.maximum(np.abs(dev) - tol, 0)
        return float((excess ** 2).sum()), float((dev ** 2).sum())

    # Offsets are in the units of the graph (minutes here); the step starts at a quarter
    # of the median travel time from a node to its nearest post.
    d0 = dijkstra(csr, indices=unit_node, min_only=True)
    fin = d0[np.isfinite(d0)]
    step0 = STEP_SHARE * float(np.median(fin)) if len(fin) else 1.0
    lab = labels(beta)
    best_lab, best = lab, score(lab)
    t0 = time.perf_counter()
    it = 0
    for it in range(1, max_iter + 1):
        if best[0] == 0 or time.perf_counter() - t0 > time_limit:
            break
        ok = lab >= 0
        dev = np.bincount(lab[ok], weights=load[ok], minlength=n_units) / target - 1
        step = step0 * (0.02 + 0.98 * (1 - it / max_iter))
        beta = beta + step * np.clip(dev, -1.0, 1.0)
        lab = labels(beta)
        sc = score(lab)
        if sc < best:
            best_lab, best = lab, sc
    return best_lab, {"iterations": it, "excess": best[0]}


def grow_regions(pb: _Problem, lab: np.ndarray | None = None) -> np.ndarray:
    """Capacitated region growing: the least-loaded precinct (relative to its target) takes
    its nearest free neighbouring block, until no precinct can grow. Contiguous by
    construction; blocks no precinct reaches stay -1. From ``lab`` when given (its -1
    blocks are the free ones), else from the posts' blocks."""
    import heapq

    n_units = len(pb.target)
    n_blocks = len(pb.load)
    indptr, indices = _neighbours(pb.adj)
    if lab is None:
        lab = np.full(n_blocks, -1, dtype=np.int64)
        lab[pb.post_block] = np.arange(n_units)
    else:
        lab = lab.copy()
    ok = lab >= 0
    load = np.bincount(lab[ok], weights=pb.load[ok], minlength=n_units).astype(np.float64)
    frontier: list[list[tuple[float, int]]] = [[] for _ in range(n_units)]
    for b in np.flatnonzero(ok).tolist():
        u = int(lab[b])
        for v in indices[indptr[b]:indptr[b + 1]].tolist():
            if lab[v] < 0 and pb.allowed[u, v]:
                heapq.heappush(frontier[u], (float(pb.time_first[u, v]), v))
    units = [(load[u] / pb.target[u], u) for u in range(n_units)]
    heapq.heapify(units)
    while units:
        _, u = heapq.heappop(units)
        fr = frontier[u]
        while fr and lab[fr[0][1]] >= 0:
            heapq.heappop(fr)
        if not fr:
            continue  # trapped: this precinct cannot grow any more
        _, b = heapq.heappop(fr)
        lab[b] = u
        load[u] += pb.load[b]
        for v in indices[indptr[b]:indptr[b + 1]].tolist():
            if lab[v] < 0 and pb.allowed[u, v]:
                heapq.heappush(fr, (float(pb.time_first[u, v]), v))
        heapq.heappush(units, (load[u] / pb.target[u], u))
    return lab


def _grow_first(pb: _Problem, u: int, share: float, seeds: np.ndarray | None = None) -> np.ndarray:
    """Precinct ``u`` grows alone first from ``seeds`` (default: its post's block), taking
    the nearest blocks by travel time around every other post, up to ``share`` of its
    target; then all the others grow from their posts."""
    import heapq

    n_blocks = len(pb.load)
    indptr, indices = _neighbours(pb.adj)
    lab = np.full(n_blocks, -1, dtype=np.int64)
    lab[pb.post_block] = np.arange(len(pb.target))
    seeds = np.array([pb.post_block[u]]) if seeds is None else np.unique(seeds)
    lab[seeds] = u
    load = float(pb.load[seeds].sum())
    fr = [(0.0, int(b)) for b in seeds.tolist()]
    seen = np.zeros(n_blocks, dtype=bool)
    seen[seeds] = True
    while fr and load < share * pb.target[u]:
        _, b = heapq.heappop(fr)
        if lab[b] >= 0 and lab[b] != u:
            continue  # another post's block
        if lab[b] < 0:
            lab[b] = u
            load += float(pb.load[b])
        for v in indices[indptr[b]:indptr[b + 1]].tolist():
            if not seen[v] and pb.allowed[u, v]:
                seen[v] = True
                heapq.heappush(fr, (float(pb.time_first[u, v]), v))
    return grow_regions(pb, lab)


def solve_assignment(pb: _Problem, start: np.ndarray, *, k_nearest: int, time_limit: float,
                     mip_gap: float = 0.005) -> tuple[np.ndarray, str]:
    """The capacitated assignment MIP (Hess model, elastic balance rows) in HiGHS."""
    from geo_service.solvers.highs import run_highs as _run_highs

    n_units, n_blocks = pb.time_min.shape
    k = min(k_nearest, n_units)
    t = np.where(pb.allowed, pb.time_min, np.inf)
    near = np.argsort(t, axis=0)[:k]  # (k, blocks)
    cand = np.zeros_like(pb.allowed)
    cols = np.broadcast_to(np.arange(n_blocks), near.shape)
    cand[near.ravel(), cols.ravel()] = True
    cand &= pb.allowed
    ok_start = start >= 0
    cand[start[ok_start], np.flatnonzero(ok_start)] = True
    cand[:, pb.post_block] = False
    cand[np.arange(n_units), pb.post_block] = True
    cand[:, ~cand.any(axis=0)] = False
    units, blks = np.nonzero(cand)
    nx = len(units)
    mean_load = float(pb.load.sum() / n_units)
    w = np.maximum(pb.load[blks], EMPTY_BLOCK_WEIGHT * mean_load)
    cost = np.concatenate([w * pb.time_min[units, blks], np.full(2 * n_units, BALANCE_PENALTY)])
    lower = np.zeros(nx + 2 * n_units)
    upper = np.concatenate([np.ones(nx), np.full(2 * n_units, np.inf)])
    fixed = np.isin(blks, pb.post_block) & (pb.post_block[units] == blks)
    lower[:nx][fixed] = 1.0
    integer = np.concatenate([np.ones(nx, dtype=bool), np.zeros(2 * n_units, dtype=bool)])
    assigned = np.flatnonzero(cand.any(axis=0))
    row_of_block = np.full(n_blocks, -1)
    row_of_block[assigned] = np.arange(len(assigned))
    # Rows: one per assignable block (sum x = 1); per unit: load - s_plus <= hi; load + s_minus >= lo.
    r1 = sp.csr_matrix((np.ones(nx), (row_of_block[blks], np.arange(nx))), shape=(len(assigned), nx + 2 * n_units))
    ru = np.arange(n_units)
    hi_rows = sp.csr_matrix((np.concatenate([pb.load[blks], -np.ones(n_units)]),
                             (np.concatenate([units, ru]), np.concatenate([np.arange(nx), nx + ru]))),
                            shape=(n_units, nx + 2 * n_units))
    lo_rows = sp.csr_matrix((np.concatenate([pb.load[blks], np.ones(n_units)]),
                             (np.concatenate([units, ru]), np.concatenate([np.arange(nx), nx + n_units + ru]))),
                            shape=(n_units, nx + 2 * n_units))
    # Contiguity (shortest-path-tree rows): a block may go to post p only if a neighbour
    # nearer to p (by its nearest node) goes to p too.
    var = sp.csr_matrix((np.arange(1, nx + 1), (units, blks)), shape=(n_units, n_blocks))
    coo = pb.adj.tocoo()
    spt_r, spt_c, spt_v = [], [], []
    n_spt = 0
    free = ~fixed
    for u in range(n_units):
        vrow = np.asarray(var[u].todense()).ravel()  # 1-based var index per block, 0: none
        tf = pb.time_first[u]
        e = (vrow[coo.row] > 0) & (vrow[coo.col] > 0) & (tf[coo.col] < tf[coo.row])
        e &= free[vrow[coo.row] - 1]
        rows_b = coo.row[e]
        ub, inv = np.unique(rows_b, return_inverse=True)
        spt_r.append(np.concatenate([n_spt + np.arange(len(ub)), n_spt + inv]))
        spt_c.append(np.concatenate([vrow[ub] - 1, vrow[coo.col[e]] - 1]))
        spt_v.append(np.concatenate([np.ones(len(ub)), -np.ones(len(inv))]))
        # Candidates with no nearer neighbour available cannot be taken.
        own = np.flatnonzero(vrow > 0)
        lonely = np.setdiff1d(own, ub)
        lonely = lonely[free[vrow[lonely] - 1]]
        upper[vrow[lonely] - 1] = 0.0
        n_spt += len(ub)
    spt = sp.csr_matrix((np.concatenate(spt_v), (np.concatenate(spt_r), np.concatenate(spt_c))),
                        shape=(n_spt, nx + 2 * n_units))
    a = sp.vstack([r1, hi_rows, lo_rows, spt]).tocsr()
    row_lo = np.concatenate([np.ones(len(assigned)), np.full(n_units, -np.inf), (1 - pb.tol) * pb.target,
                             np.full(n_spt, -np.inf)])
    row_hi = np.concatenate([np.ones(len(assigned)), (1 + pb.tol) * pb.target, np.full(n_units, np.inf),
                             np.zeros(n_spt)])
    x0 = None
    if ok_start.all():
        x0 = np.zeros(nx + 2 * n_units)
        x0[:nx] = (start[blks] == units).astype(float)
        ul = np.bincount(start, weights=pb.load, minlength=n_units)
        x0[nx:nx + n_units] = np.maximum(ul - (1 + pb.tol) * pb.target, 0)
        x0[nx + n_units:] = np.maximum((1 - pb.tol) * pb.target - ul, 0)
    x, _obj, _bound, _gap, status = _run_highs(nx + 2 * n_units, cost, lower, upper, integer, a, row_lo, row_hi,
                                               maximise=False, start=x0, time_limit=time_limit, mip_gap=mip_gap)
    if x is None:
        return start.copy(), status
    lab = np.full(n_blocks, -1, dtype=np.int64)
    xv = x[:nx]
    # Each block takes its largest x (exactly one is 1 at an integer solution).
    order = np.lexsort((-xv, blks))
    b_sorted, u_sorted = blks[order], units[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = b_sorted[1:] != b_sorted[:-1]
    lab[b_sorted[first]] = u_sorted[first]
    return lab, status


# --------------------------------------------------------------------------------- main
def _posts_frame(city: CityBundle, posts: pd.DataFrame | None) -> pd.DataFrame:
    p = city.posts if posts is None else posts
    for col in ("lat", "lon"):
        if col not in p.columns:
            msg = "posts need lat and lon columns"
            raise InputError(msg)
    if len(p) == 0:
        msg = "no posts to build precincts around"
        raise InputError(msg)
    p = p.reset_index(drop=True).copy()
    if "post_id" not in p.columns:
        p["post_id"] = [f"post-{i + 1}" for i in range(len(p))]
    if "precinct_id" not in p.columns:
        p["precinct_id"] = ""
    lat = pd.to_numeric(p["lat"], errors="coerce").to_numpy(dtype=np.float64)
    lon = pd.to_numeric(p["lon"], errors="coerce").to_numpy(dtype=np.float64)
    if not (np.isfinite(lat) & np.isfinite(lon)).all():
        msg = "every post needs a latitude and longitude"
        raise InputError(msg)
    p["lat"], p["lon"] = lat, lon
    return p


def _inspectors(city: CityBundle, posts: pd.DataFrame, inspectors_per_post: Any) -> np.ndarray:
    if inspectors_per_post is None:
        counts = city.roster["precinct_id"].astype(str).value_counts()
        n = np.array([int(counts.get(str(pid), 0)) for pid in posts["precinct_id"]], dtype=np.float64)
        return np.where(n > 0, n, 1.0)
    if isinstance(inspectors_per_post, dict):
        n = np.array([float(inspectors_per_post.get(str(pid), 1)) for pid in posts["post_id"]])
    else:
        n = np.asarray(inspectors_per_post, dtype=np.float64).ravel()
        if len(n) != len(posts):
            msg = f"inspectors_per_post has {len(n)} values for {len(posts)} posts"
            raise InputError(msg)
    if not (np.isfinite(n).all() and (n > 0).all()):
        msg = "every post needs a positive number of inspectors"
        raise InputError(msg)
    return n


def _figures(node_lab: np.ndarray, node_ld: np.ndarray, target: np.ndarray, insp: np.ndarray,
             node_time: np.ndarray, tol: float) -> dict[str, Any]:
    n_units = len(target)
    ok = node_lab >= 0
    ul = np.bincount(node_lab[ok], weights=node_ld[ok], minlength=n_units)
    per = (ul / insp) / (ul.sum() / insp.sum())
    dev = ul / target - 1
    t = np.where(ok, node_time[np.maximum(node_lab, 0), np.arange(len(node_lab))], np.nan)
    t = t[np.isfinite(t)]
    return {"max_min_ratio": round(max_min_ratio(per), 4), "gini": round(gini(per), 4),
            "max_deviation": round(float(np.max(np.abs(dev))), 4),
            "within_tolerance": int((np.abs(dev) <= tol + 1e-9).sum()),
            "max_travel_min": round(float(t.max()) if len(t) else float("nan"), 1),
            "mean_travel_min": round(float(t.mean()) if len(t) else float("nan"), 2)}


def _majority(node_lab: np.ndarray, node_block: np.ndarray, n_blocks: int, n_units: int) -> np.ndarray:
    """Each block's most common node label (-1 when none of its nodes is assigned)."""
    ok = node_lab >= 0
    if not ok.any():
        return np.full(n_blocks, -1, dtype=np.int64)
    counts = sp.csr_matrix((np.ones(int(ok.sum())), (node_block[ok], node_lab[ok])), shape=(n_blocks, n_units))
    lab = np.asarray(counts.argmax(axis=1)).ravel().astype(np.int64)
    lab[np.asarray(counts.sum(axis=1)).ravel() == 0] = -1
    return lab


def check_node_contiguity(csr: sp.csr_matrix, node_lab: np.ndarray, unit_node: np.ndarray) -> bool:
    """True when each precinct's road nodes form one connected piece holding its post's node."""
    coo = csr.tocoo()
    same = (node_lab[coo.row] == node_lab[coo.col]) & (node_lab[coo.row] >= 0)
    m = sp.csr_matrix((np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=csr.shape)
    comp = connected_components(m, directed=False)[1]
    for u, post in enumerate(unit_node.tolist()):
        if node_lab[post] != u:
            return False
        mine = node_lab == u
        if not np.all(comp[mine] == comp[post]):
            return False
    return True


METHODS = {
    "voronoi": "additively weighted network Voronoi with balancing offsets (contiguous by construction)",
    "grow": "road blocks: capacitated region growing + contiguity-keeping boundary moves",
    "mip": "road blocks: Hess assignment MIP with shortest-path-tree contiguity rows (HiGHS) + boundary moves",
}


def balance_precincts(city: CityBundle, *, posts: pd.DataFrame | None = None, inspectors_per_post: Any = None,
                      hard_borders: Any = None, tolerance: float = 0.10, weights: WorkloadWeights | None = None,
                      demand: Demand | None = None, appeals: pd.DataFrame | None = None, cell_m: float = 250.0,
                      k_nearest: int = 6, compactness: float = 0.05, mip_time_limit: float = 20.0,
                      local_time_limit: float = 40.0, method: str = "grow", polygons: bool = True,
                      restarts: int = 6, seed: int = 0, max_extra_travel_min: float | None = DEFAULT_EXTRA_TRAVEL_MIN,
                      bound_time_limit: float = 10.0) -> BalanceResult:
    """Propose precincts around ``posts`` with balanced workload per inspector.

    Parameters
    ----------
    city
        A loaded bundle (its walking graph carries contiguity and travel time).
    posts
        ``post_id, lat, lon`` (and ``precinct_id``, ``name``); default: ``city.posts``.
    inspectors_per_post
        A mapping post_id -> inspectors, or one number per post; default: the roster's
        inspectors of the post's precinct (1 where the roster has none).
    hard_borders
        GeoJSON (FeatureCollection, Feature or geometry; lines or polygons) or shapely
        geometries: road edges crossing them are cut, so no precinct spans them.
    tolerance
        Allowed relative deviation of each precinct's load from its target (0.10: ±10%).
    weights
        Workload weights (`WorkloadWeights`; the travel weight is ignored here: travel
        time is the compactness cost).
    demand
        Residents (default: the buildings+addresses estimate).
    appeals
        Appeal records with ``lat``/``lon`` that add to the load (when the weight is > 0).
    cell_m
        Block cell size in metres.
    k_nearest
        Posts (nearest by walking time) a block may be assigned to in the MIP.
    compactness
        Weight of added travel time against imbalance in the boundary moves.
    mip_time_limit, local_time_limit
        Seconds for the MIP and for the boundary moves.
    polygons
        Build precinct polygons (Voronoi cells of the assigned nodes, union per precinct).
    restarts, seed
        Perturbed restarts of the boundary moves (within ``local_time_limit``) and their
        random seed.
    max_extra_travel_min
        Compactness as a rule: a block may join a post at most this many minutes (walking,
        block average) farther than its nearest post; default `DEFAULT_EXTRA_TRAVEL_MIN`
        (60). None: no such rule (travel time is then only the soft compactness cost, and
        the balance may place residents hours farther from their post than from the
        nearest one; ``after.extra_travel`` says how far).
    bound_time_limit
        Seconds for the LP lower bound (`balance_bound`) on the load beyond the band.
    """
    if not (0 < tolerance < 1):
        msg = f"tolerance must be between 0 and 1 (got {tolerance})"
        raise InputError(msg)
    if not (20 <= cell_m <= 5000):
        msg = f"cell_m must be between 20 and 5000 metres (got {cell_m})"
        raise InputError(msg)
    if method not in METHODS:
        msg = f"method must be one of {', '.join(METHODS)} (got {method!r})"
        raise InputError(msg)
    if k_nearest < 1:
        msg = "k_nearest must be at least 1"
        raise InputError(msg)
    if max_extra_travel_min is not None and not (0 < max_extra_travel_min <= 24 * 60):
        msg = f"max_extra_travel_min must be between 0 and 1440 minutes (got {max_extra_travel_min})"
        raise InputError(msg)
    weights = weights or WorkloadWeights()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    p = _posts_frame(city, posts)
    if demand is None:
        from geo_service.workload.indicators import default_demand

        demand = default_demand(city)
    g = city.walk
    borders = _border_lines(hard_borders)
    cut = _cut_mask(g, borders)
    app_pts = None
    if appeals is not None and len(appeals) and weights.appeals > 0:
        if not {"lat", "lon"} <= set(appeals.columns):
            msg = "appeals need lat and lon columns to be counted in blocks"
            raise InputError(msg)
        app_pts = (appeals["lat"].to_numpy(dtype=np.float64), appeals["lon"].to_numpy(dtype=np.float64))
    blocks = build_blocks(city, cell_m=cell_m, demand=demand, cut=cut, appeals=app_pts)
    timings["blocks_s"] = time.perf_counter() - t0

    # Posts -> units (posts in the same block share one precinct).
    post_nodes, _ = g.snap_many(p["lat"].to_numpy(), p["lon"].to_numpy())
    post_blocks = blocks.node_block[post_nodes]
    uniq_blocks, first_post, unit_of_post = np.unique(post_blocks, return_index=True, return_inverse=True)
    order = np.argsort(first_post)  # keep post order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    unit_of_post = rank[unit_of_post]
    uniq_blocks = uniq_blocks[order]
    n_units = len(uniq_blocks)
    insp_post = _inspectors(city, p, inspectors_per_post)
    insp = np.bincount(unit_of_post, weights=insp_post, minlength=n_units)
    unit_posts = [p["post_id"].astype(str).to_numpy()[unit_of_post == u].tolist() for u in range(n_units)]
    width = max(2, len(str(n_units)))
    unit_ids = []
    for u in range(n_units):
        first = int(np.flatnonzero(unit_of_post == u)[0])
        pid = str(p["precinct_id"].iloc[first] or "")
        unit_ids.append(pid if pid and pid not in unit_ids else f"B{u + 1:0{width}d}")
    for u, ids in enumerate(unit_posts):
        if len(ids) > 1:
            logger.info("posts %s stand in the same block: they share precinct %s", ", ".join(ids), unit_ids[u])

    # Travel times from each unit's post node (first post of the unit) over the cut graph.
    t1 = time.perf_counter()
    unit_node = np.array([post_nodes[int(np.flatnonzero(unit_of_post == u)[0])] for u in range(n_units)])
    dist = dijkstra(_graph_csr(g, cut), indices=unit_node) / 60.0  # minutes, (units, nodes)
    node_time = dist
    big = np.where(np.isfinite(dist), dist, UNREACHABLE)
    member = sp.csr_matrix((np.ones(g.n_nodes), (np.arange(g.n_nodes), blocks.node_block)),
                           shape=(g.n_nodes, blocks.n))
    count = np.asarray(member.sum(axis=0)).ravel()
    tb = np.asarray((member.T @ big.T).T) / count
    time_min = np.where(tb >= UNREACHABLE / 10, np.inf, tb)
    # The block's nearest node to each post (the shortest-path-tree order of the MIP).
    order_nodes = np.argsort(blocks.node_block, kind="stable")
    starts = np.searchsorted(blocks.node_block[order_nodes], np.arange(blocks.n))
    time_first = np.minimum.reduceat(big[:, order_nodes], starts, axis=1)
    time_first = np.where(time_first >= UNREACHABLE / 10, np.inf, time_first)
    timings["travel_s"] = time.perf_counter() - t1

    node_ld, used = node_load(blocks, weights, n_units)
    node_reach = np.isfinite(node_time).any(axis=0)
    reach = np.isfinite(time_min).any(axis=0)
    if not node_reach.all():
        logger.warning("%d road nodes (%.0f residents) are reached by no post across the hard borders",
                       int((~node_reach).sum()), float(blocks.node_parts["residents"][~node_reach].sum()))
    node_ld = np.where(node_reach, node_ld, 0.0)
    load = np.bincount(blocks.node_block, weights=node_ld, minlength=blocks.n)
    target = node_ld.sum() * insp / insp.sum()
    # Baseline: every node to the nearest post (network Voronoi, as derive_precincts does).
    node_before = np.where(node_reach, np.argmin(np.where(np.isfinite(node_time), node_time, np.inf), axis=0), -1)
    node_before[unit_node] = np.arange(n_units)
    status = "not used"
    repaired = moves = 0
    stuck = np.zeros(n_units, dtype=bool)
    candidates: list[_Candidate] = []
    chosen: _Candidate | None = None
    t2 = time.perf_counter()
    if method == "voronoi":
        node_after, info = weighted_voronoi(_graph_csr(g, cut) / 60.0, unit_node, node_ld, target, tol=tolerance,
                                            time_limit=local_time_limit)
        status = f"weighted Voronoi, {info['iterations']} iterations"
        timings["solve_s"] = time.perf_counter() - t2
    else:
        before_b = np.where(reach, np.argmin(time_first, axis=0), -1)
        before_b[uniq_blocks] = np.arange(n_units)
        allowed = np.isfinite(time_min)
        if max_extra_travel_min is not None:
            # A block joins a post at most max_extra_travel_min farther than its nearest post.
            allowed &= time_min <= time_min.min(axis=0) + max_extra_travel_min
        pb = _Problem(load=load, target=target, tol=tolerance, time_min=time_min, post_block=uniq_blocks,
                      adj=blocks.adjacency, compactness=compactness, allowed=allowed,
                      time_first=time_first)
        before = _majority(node_before, blocks.node_block, blocks.n, n_units)
        starts: list[tuple[str, np.ndarray]] = []
        if method == "mip":
            pb_mip = _Problem(**{**pb.__dict__, "tol": pb.tol * 0.8})
            lab, status = solve_assignment(pb_mip, before_b, k_nearest=k_nearest, time_limit=mip_time_limit)
            lab[~reach] = -1
            starts.append(("mip", lab))
        else:
            starts.append(("grow", grow_regions(pb)))
        timings["solve_s"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        # The nearest-post baseline is contiguous along roads already; balancing from it
        # moves only the blocks the balance needs.
        start_b = before.copy()
        start_b[~reach] = -1
        start_b[uniq_blocks] = np.arange(n_units)
        starts.append(("baseline", start_b))
        rng = np.random.default_rng(seed)
        candidates = []
        deadline = t3 + local_time_limit
        for k in range(len(starts) + max(restarts, 0)):
            left = deadline - time.perf_counter()
            if k >= len(starts):
                if left < 0.25 * local_time_limit:
                    break  # no time for another perturbed start
                best = min(candidates, key=lambda c: c.key)
                # A perturbed start: the best result so far with a few precincts' borders
                # shaken (random boundary blocks given to a neighbour, then repaired).
                name, start = f"perturbed-{k - len(starts) + 1}", _perturb(best.lab, pb, rng)
            else:
                name, start = starts[k]
                left = max(left, 0.25 * local_time_limit)
            cand = _refine(name, start, pb, before, insp, time_limit=left)
            candidates.append(cand)
        chosen = min(candidates, key=lambda c: c.key)
        lab, moves, repaired, stuck = chosen.lab, chosen.moves, chosen.repaired, chosen.stuck
        timings["repair_local_s"] = time.perf_counter() - t3
        node_after = lab[blocks.node_block]
    before = _majority(node_before, blocks.node_block, blocks.n, n_units)
    lab = _majority(node_after, blocks.node_block, blocks.n, n_units)

    fig_before = _figures(node_before, node_ld, target, insp, node_time, tolerance)
    fig_after = _figures(node_after, node_ld, target, insp, node_time, tolerance)
    reach_sets = None
    if method != "voronoi":
        fig_after["out_of_band"] = _out_of_band_reasons(lab, pb, unit_ids)
        # How far outside the band the proposal is, against the LP lower bound.
        t5 = time.perf_counter()
        reach_sets = _reachable(pb)
        # One after the other (about 3.5 s together under the default rule on Almaty).
        bound = balance_bound(pb, reach=reach_sets, time_limit=bound_time_limit)
        sq_bound = balance_bound(pb, reach=reach_sets, time_limit=bound_time_limit, measure="squared")
        excess, ex_b = _excess(lab, pb), _excess(before, pb)
        fig_before["beyond_band"] = round(float(ex_b.sum()), 4)
        fig_before["squared_excess"] = round(float((ex_b ** 2).sum()), 4)
        fig_after["beyond_band"] = round(float(excess.sum()), 4)
        fig_after["beyond_band_lower_bound"] = None if bound is None else round(bound, 4)
        fig_after["squared_excess"] = round(float((excess ** 2).sum()), 4)
        fig_after["squared_excess_lower_bound"] = None if sq_bound is None else round(sq_bound, 4)
        fig_before["extra_travel"] = extra_travel(before, pb)
        fig_after["extra_travel"] = extra_travel(lab, pb)
        if max_extra_travel_min is not None:
            # Blocks the rule would not let their post take (a contiguity repair had no other choice).
            fig_after["blocks_breaking_rule"] = int(((lab >= 0) & ~pb.allowed[np.maximum(lab, 0),
                                                                               np.arange(len(lab))]).sum())
        timings["bound_s"] = time.perf_counter() - t5
    if method != "voronoi" and stuck.any():
        limited_figs, at_level = _limited_figures(lab, node_after, node_ld, pb, insp, stuck, unit_ids,
                                                  time_limit=min(3.0, 0.1 * local_time_limit), reach=reach_sets,
                                                  bound_time_limit=bound_time_limit)
        fig_after.update(limited_figs)
        for grp in fig_after["below_band_groups"]:
            if grp["reach_as_one"] is None:
                continue
            m, w = len(grp["precincts"]), grp["ways_out"]
            note = (f"; its group of {m} precinct(s) below the band holds work for {grp['work_for_inspectors']:.1f} "
                    f"of its {grp['inspectors']:g} inspectors and reaches {grp['reach_as_one']:.0%} of its target "
                    f"as one precinct; {w} separate way(s) lead out of its area")
            if w == 0:
                note += ": none of its precincts can reach work beyond it"
            elif w < m:
                note += f" for its {m} posts: at most {w} of them can reach work beyond it"
            if w > 0 and grp["reach_as_one"] >= 1 - tolerance:
                note += "; these moves did not find how to divide that work among its posts"
            sb = grp.get("shortfall_bound")
            if sb is not None and sb > 1e-6:
                rule = ("" if max_extra_travel_min is None else
                        f", no resident more than {max_extra_travel_min:g} min farther than the nearest post")
                note += (f"; proven (LP bound, contiguity relaxed{rule}): together they fall at least {sb:.2f} "
                         f"target(s) short of the band (this proposal: {grp['shortfall']:.2f})")
            elif sb is not None:
                note += "; the LP bound (contiguity relaxed) does not rule the band out for them"
            for pid in grp["precincts"]:
                if pid in fig_after["out_of_band"]:
                    fig_after["out_of_band"][pid] += note
        for pid in at_level:
            if pid in fig_after["out_of_band"]:
                fig_after["out_of_band"][pid] += (f"; within ±{tolerance:.0%} of the level the other precincts "
                                                  f"share ({fig_after['others_level']:.2f} x the target) while those "
                                                  f"below the band cannot take more")

    # Units table.
    rows = []
    res_node = blocks.node_parts["residents"]
    area_node = blocks.node_parts["area"]
    for name, nl in (("before", node_before), ("after", node_after)):
        ok = nl >= 0
        ul = np.bincount(nl[ok], weights=node_ld[ok], minlength=n_units)
        tt = np.where(ok, node_time[np.maximum(nl, 0), np.arange(g.n_nodes)], np.nan)
        tt = np.where(np.isfinite(tt), tt, np.nan)
        mx = pd.Series(tt).groupby(nl).max().reindex(range(n_units)).to_numpy()
        bl = before if name == "before" else lab
        rows.append({
            f"load_{name}": ul,
            f"per_inspector_{name}": (ul / insp) / (ul.sum() / insp.sum()),
            f"residents_{name}": np.bincount(nl[ok], weights=res_node[ok], minlength=n_units),
            f"area_km2_{name}": np.bincount(nl[ok], weights=area_node[ok], minlength=n_units),
            f"blocks_{name}": np.bincount(bl[bl >= 0], minlength=n_units),
            f"max_travel_min_{name}": mx,
        })
    units = pd.DataFrame({"precinct_id": unit_ids, "post_ids": [",".join(x) for x in unit_posts],
                          "inspectors": insp, "target": target, **rows[0], **rows[1]})
    ids = np.array(unit_ids + [""], dtype=object)
    bframe = pd.DataFrame({"block": np.arange(blocks.n), "lat": blocks.lat, "lon": blocks.lon,
                           "residents": blocks.residents, "area_km2": blocks.area_km2, "road_km": blocks.road_km,
                           "load": load, "before": ids[before], "after": ids[lab]})
    moved = before != lab
    node_moved = node_before != node_after
    summary = {
        "method": METHODS[method],
        "posts": len(p), "precincts": n_units, "blocks": blocks.n, "cell_m": cell_m, "tolerance": tolerance,
        "hard_border_edges_cut": blocks.cut_edges, "unreached_blocks": int((~reach).sum()),
        "weights_used": used, "mip_status": status,
        "before": fig_before, "after": fig_after,
        "moved_blocks": int(moved.sum()), "moved_nodes": int(node_moved.sum()),
        "moved_residents": round(float(res_node[node_moved].sum()), 1),
        "repaired_blocks": repaired, "boundary_moves": moves,
        "start": chosen.name if chosen is not None else None,
        "candidates": [c.info() for c in candidates],
        "contiguous": bool(check_node_contiguity(_graph_csr(g, cut), node_after, unit_node)),
    }
    # Nodes no post reaches take the precinct of the nearest assigned node (for polygons only).
    node_final = node_after.copy()
    node_final[unit_node] = np.arange(n_units)
    if (node_final < 0).any() and (node_final >= 0).any():
        src = np.flatnonzero(node_final >= 0)
        _, _, sources = dijkstra(g.csr(), directed=False, indices=src, min_only=True, return_predecessors=True)
        fill = (node_final < 0) & (sources >= 0)
        node_final[fill] = node_final[sources[fill]]
    result = BalanceResult(units=units, blocks=bframe, summary=summary, node_precinct=node_final,
                           problem=pb if method != "voronoi" else None)
    if polygons:
        t4 = time.perf_counter()
        result.polygons = _polygons(city, node_final, demand, unit_ids, unit_posts)
        timings["polygons_s"] = time.perf_counter() - t4
    timings["total_s"] = time.perf_counter() - t0
    summary["timings"] = {k: round(v, 3) for k, v in timings.items()}
    logger.info("balanced %d precincts over %d blocks: max/min %.2f -> %.2f, Gini %.3f -> %.3f in %.1f s",
                n_units, blocks.n, fig_before["max_min_ratio"], fig_after["max_min_ratio"], fig_before["gini"],
                fig_after["gini"], timings["total_s"])
    return result


def _limited_figures(lab: np.ndarray, node_lab: np.ndarray, node_ld: np.ndarray, pb: _Problem, insp: np.ndarray,
                     limited: np.ndarray, unit_ids: list[str], *, time_limit: float,
                     max_groups: int = 5, reach: np.ndarray | None = None,
                     bound_time_limit: float = 10.0) -> tuple[dict[str, Any], list[str]]:
    """The precincts held back, the groups below the band, and the balance of the others
    against their level; and the ids of the others within the tolerance of that level."""
    n_units = len(pb.target)
    ok = node_lab >= 0
    ul = np.bincount(node_lab[ok], weights=node_ld[ok], minlength=n_units)
    per_insp = ul.sum() / insp.sum()  # the city's load per inspector
    levels = _levels(lab, pb, insp, limited)
    below = ul < (1 - pb.tol) * pb.target - 1e-9
    groups = sorted(limited_groups(lab, pb.adj, below), key=lambda g: -len(g))
    out_groups = []
    for k, grp in enumerate(groups):
        reach_one = sbound = None
        if k < max_groups and not below.all():
            reach_one = round(merged_reach(lab, pb, grp, time_limit=time_limit), 3)
            sbound = balance_bound(pb, group=grp, reach=reach, time_limit=bound_time_limit)
        out_groups.append({
            "precincts": [unit_ids[i] for i in grp],
            "inspectors": float(insp[grp].sum()),
            "work_for_inspectors": round(float(ul[grp].sum() / per_insp), 2),
            "reach_as_one": reach_one,
            "ways_out": ways_out(lab, pb, grp),
            # Sum over its precincts of the share of their target they fall short of the band.
            "shortfall": round(float(np.maximum((1 - pb.tol) - ul[grp] / pb.target[grp], 0).sum()), 4),
            "shortfall_bound": None if sbound is None else round(sbound, 4),
        })
    rest = ~limited
    out: dict[str, Any] = {
        "held_back": [unit_ids[i] for i in np.flatnonzero(limited)],
        "below_band_groups": out_groups,
    }
    at_level = rest & (np.abs(ul / levels - 1) <= pb.tol + 1e-9)
    if rest.any():
        out["others_level"] = round(float(levels[rest][0] / insp[rest][0] / per_insp), 3)
        out["others_within_tolerance"] = int(at_level.sum())
        out["others_max_min_ratio"] = round(max_min_ratio(ul[rest] / insp[rest]), 4)
    return out, [unit_ids[i] for i in np.flatnonzero(at_level)]


def check_contiguity(lab: np.ndarray, adj: sp.csr_matrix, post_block: np.ndarray) -> bool:
    """True when every precinct's blocks form one connected piece holding its post's block."""
    comp = _components(lab, adj)
    for u, pbk in enumerate(post_block.tolist()):
        mine = lab == u
        if mine.any() and not np.all(comp[mine] == comp[pbk]):
            return False
        if lab[pbk] != u:
            return False
    return True


def _polygons(city: CityBundle, node_lab: np.ndarray, demand: Demand, unit_ids: list[str],
              unit_posts: list[list[str]]) -> pd.DataFrame:
    """Voronoi cells of the labelled nodes and demand points, united per precinct."""
    from pyproj import Transformer

    from geo_service.network.geodesy import from_utm, utm_crs

    g = city.walk
    d_nodes, _ = g.snap_many(demand.lat, demand.lon)
    lon = np.concatenate([g.lon, demand.lon])
    lat = np.concatenate([g.lat, demand.lat])
    label = np.concatenate([node_lab, node_lab[d_nodes]])
    keep = label >= 0
    lon, lat, label = lon[keep], lat[keep], label[keep]
    minlon, minlat, maxlon, maxlat = city.manifest["bbox"]
    crs = utm_crs((minlon + maxlon) / 2, (minlat + maxlat) / 2)
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    xy, idx = np.unique(np.round(np.column_stack([x, y]), 1), axis=0, return_index=True)
    label = label[idx]
    hull = shapely.buffer(shapely.concave_hull(shapely.multipoints(xy), ratio=0.05), 300.0)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=hull.envelope,
                                                       ordered=True))
    rows = []
    for k in np.unique(label).tolist():
        region = shapely.intersection(shapely.coverage_union_all(cells[label == k]), hull)
        if not region.is_empty:
            rows.append((unit_ids[k], unit_posts[k][0], region))
    geoms = shapely.make_valid(from_utm(np.array([r[2] for r in rows], dtype=object), crs))
    return pd.DataFrame({"precinct_id": [r[0] for r in rows], "name": [f"Proposed precinct {r[0]}" for r in rows],
                         "source": "proposed", "post_id": [r[1] for r in rows], "geometry": geoms})


"""`balance_precincts`: the balancing steps run one after another, from the city to the result."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from geo_service import progress
from geo_service.errors import InputError
from geo_service.workload.balance.blocks import Blocks, border_lines, build_blocks, cut_mask, graph_csr, node_load
from geo_service.workload.balance.bounds import balance_bound, extra_travel, reachable
from geo_service.workload.balance.contiguity import check_node_contiguity
from geo_service.workload.balance.mip import solve_assignment
from geo_service.workload.balance.problem import UNREACHABLE, BlockProblem, excess
from geo_service.workload.balance.report import (
    BalanceResult,
    figures,
    limited_figures,
    majority,
    out_of_band_reasons,
    post_inspectors,
    posts_frame,
    precinct_polygons,
)
from geo_service.workload.balance.search import Candidate, grow_regions, perturb, refine, weighted_voronoi
from geo_service.workload.indicators import WorkloadWeights, default_demand

if TYPE_CHECKING:
    from geo_service.bundle import CityBundle
    from geo_service.siting.demand import Demand

logger = logging.getLogger(__name__)


#: The compactness rule's default: a block joins a post at most this many minutes' walk
#: (about 5 km) farther than its nearest post (`balance_precincts`).
DEFAULT_EXTRA_TRAVEL_MIN = 60.0

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
    _check_options(tolerance, cell_m, method, k_nearest, max_extra_travel_min)
    weights = weights or WorkloadWeights()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    p = posts_frame(city, posts)
    demand = default_demand(city) if demand is None else demand
    g = city.walk
    cut = cut_mask(g, border_lines(hard_borders))
    blocks = build_blocks(city, cell_m=cell_m, demand=demand, cut=cut, appeals=_appeal_points(appeals, weights))
    timings["blocks_s"] = time.perf_counter() - t0
    post_nodes, unit_of_post, uniq_blocks, insp, unit_posts, unit_ids = _units(city, p, blocks, inspectors_per_post)
    n_units = len(uniq_blocks)
    t1 = time.perf_counter()
    unit_node, node_time, time_min, time_first = _travel_times(g, cut, blocks, post_nodes, unit_of_post, n_units)
    timings["travel_s"] = time.perf_counter() - t1
    node_ld, used, reach, load, target, node_before = _loads(blocks, weights, insp, unit_node, node_time, time_min)
    node_after, pb, status, candidates, chosen = _solve(
        g, cut, blocks, unit_node, node_ld, load, target, time_min, time_first, uniq_blocks, reach, node_before,
        insp, timings, method=method, tolerance=tolerance, compactness=compactness, k_nearest=k_nearest,
        mip_time_limit=mip_time_limit, local_time_limit=local_time_limit, restarts=restarts, seed=seed,
        max_extra_travel_min=max_extra_travel_min)
    before = majority(node_before, blocks.node_block, blocks.n, n_units)
    lab = majority(node_after, blocks.node_block, blocks.n, n_units)

    fig_before = figures(node_before, node_ld, target, insp, node_time, tolerance)
    fig_after = figures(node_after, node_ld, target, insp, node_time, tolerance)
    if pb is not None and chosen is not None:
        _band_figures(lab, before, node_after, node_ld, pb, insp, chosen.stuck, unit_ids, fig_before, fig_after,
                      timings, tolerance=tolerance, max_extra_travel_min=max_extra_travel_min,
                      local_time_limit=local_time_limit, bound_time_limit=bound_time_limit)
    summary = _summary(blocks, p, n_units, before, lab, node_before, node_after, reach, used, status, fig_before,
                       fig_after, chosen, candidates, check_node_contiguity(graph_csr(g, cut), node_after, unit_node),
                       method=method, cell_m=cell_m, tolerance=tolerance)
    units = _units_table(blocks, node_before, node_after, before, lab, node_ld, node_time, insp, target,
                         unit_ids, unit_posts)
    result = BalanceResult(units=units, blocks=_blocks_table(blocks, load, unit_ids, before, lab), summary=summary,
                           node_precinct=_fill_unreached(g, node_after, unit_node), problem=pb)
    if polygons:
        t4 = time.perf_counter()
        result.polygons = precinct_polygons(city, result.node_precinct, demand, unit_ids, unit_posts)
        timings["polygons_s"] = time.perf_counter() - t4
    timings["total_s"] = time.perf_counter() - t0
    summary["timings"] = {k: round(v, 3) for k, v in timings.items()}
    logger.info("balanced %d precincts over %d blocks: max/min %.2f -> %.2f, Gini %.3f -> %.3f in %.1f s",
                n_units, blocks.n, fig_before["max_min_ratio"], fig_after["max_min_ratio"], fig_before["gini"],
                fig_after["gini"], timings["total_s"])
    return result


def _check_options(tolerance: float, cell_m: float, method: str, k_nearest: int,
                   max_extra_travel_min: float | None) -> None:
    """Refuse options out of range (`InputError`)."""
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


def _appeal_points(appeals: pd.DataFrame | None, weights: WorkloadWeights) -> tuple[np.ndarray, np.ndarray] | None:
    """The appeals' points to count in blocks (None when they add nothing to the load)."""
    app_pts = None
    if appeals is not None and len(appeals) and weights.appeals > 0:
        if not {"lat", "lon"} <= set(appeals.columns):
            msg = "appeals need lat and lon columns to be counted in blocks"
            raise InputError(msg)
        app_pts = (appeals["lat"].to_numpy(dtype=np.float64), appeals["lon"].to_numpy(dtype=np.float64))
    return app_pts


def _units(city: CityBundle, p: pd.DataFrame, blocks: Blocks, inspectors_per_post: Any
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[list[str]], list[str]]:
    """Posts -> units (posts in the same block share one precinct): each post's node and
    unit, the units' post blocks, inspectors, post ids and precinct ids."""
    g = city.walk
    post_nodes, _ = g.snap_many(p["lat"].to_numpy(), p["lon"].to_numpy())
    post_blocks = blocks.node_block[post_nodes]
    uniq_blocks, first_post, unit_of_post = np.unique(post_blocks, return_index=True, return_inverse=True)
    order = np.argsort(first_post)  # keep post order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    unit_of_post = rank[unit_of_post]
    uniq_blocks = uniq_blocks[order]
    n_units = len(uniq_blocks)
    insp_post = post_inspectors(city, p, inspectors_per_post)
    insp = np.bincount(unit_of_post, weights=insp_post, minlength=n_units)
    unit_posts = [p["post_id"].astype(str).to_numpy()[unit_of_post == u].tolist() for u in range(n_units)]
    width = max(2, len(str(n_units)))
    unit_ids: list[str] = []
    for u in range(n_units):
        first = int(np.flatnonzero(unit_of_post == u)[0])
        pid = str(p["precinct_id"].iloc[first] or "")
        unit_ids.append(pid if pid and pid not in unit_ids else f"B{u + 1:0{width}d}")
    for u, ids in enumerate(unit_posts):
        if len(ids) > 1:
            logger.info("posts %s stand in the same block: they share precinct %s", ", ".join(ids), unit_ids[u])
    return post_nodes, unit_of_post, uniq_blocks, insp, unit_posts, unit_ids


def _travel_times(g: Any, cut: np.ndarray, blocks: Blocks, post_nodes: np.ndarray, unit_of_post: np.ndarray,
                  n_units: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Travel times from each unit's post node (first post of the unit) over the cut graph:
    the units' nodes, minutes per node (units, nodes), the block average and the block's
    nearest node (units, blocks)."""
    unit_node = np.array([post_nodes[int(np.flatnonzero(unit_of_post == u)[0])] for u in range(n_units)])
    dist = dijkstra(graph_csr(g, cut), indices=unit_node) / 60.0  # minutes, (units, nodes)
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
    return unit_node, node_time, time_min, time_first


def _loads(blocks: Blocks, weights: WorkloadWeights, insp: np.ndarray, unit_node: np.ndarray, node_time: np.ndarray,
           time_min: np.ndarray) -> tuple[np.ndarray, dict[str, float], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The load per node (0 where no post reaches) and per block, the weights used, the
    blocks some post reaches, the targets, and the nearest-post baseline per node."""
    n_units = len(unit_node)
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
    return node_ld, used, reach, load, target, node_before


def _solve(g: Any, cut: np.ndarray, blocks: Blocks, unit_node: np.ndarray, node_ld: np.ndarray, load: np.ndarray,
           target: np.ndarray, time_min: np.ndarray, time_first: np.ndarray, uniq_blocks: np.ndarray,
           reach: np.ndarray, node_before: np.ndarray, insp: np.ndarray, timings: dict[str, float], *, method: str,
           tolerance: float, compactness: float, k_nearest: int, mip_time_limit: float, local_time_limit: float,
           restarts: int, seed: int, max_extra_travel_min: float | None,
           ) -> tuple[np.ndarray, BlockProblem | None, str, list[Candidate], Candidate | None]:
    """The precinct of every node after balancing, the block problem (None for ``voronoi``),
    the solver status, the starts refined and the one kept."""
    n_units = len(unit_node)
    t2 = time.perf_counter()
    if method == "voronoi":
        node_after, info = weighted_voronoi(graph_csr(g, cut) / 60.0, unit_node, node_ld, target, tol=tolerance,
                                            time_limit=local_time_limit)
        status = f"weighted Voronoi, {info['iterations']} iterations"
        timings["solve_s"] = time.perf_counter() - t2
        return node_after, None, status, [], None
    before_b = np.where(reach, np.argmin(time_first, axis=0), -1)
    before_b[uniq_blocks] = np.arange(n_units)
    allowed = np.isfinite(time_min)
    if max_extra_travel_min is not None:
        # A block joins a post at most max_extra_travel_min farther than its nearest post.
        allowed &= time_min <= time_min.min(axis=0) + max_extra_travel_min
    pb = BlockProblem(load=load, target=target, tol=tolerance, time_min=time_min, post_block=uniq_blocks,
                      adj=blocks.adjacency, compactness=compactness, allowed=allowed,
                      time_first=time_first)
    before = majority(node_before, blocks.node_block, blocks.n, n_units)
    starts: list[tuple[str, np.ndarray]] = []
    if method == "mip":
        pb_mip = BlockProblem(**{**pb.__dict__, "tol": pb.tol * 0.8})
        lab, status = solve_assignment(pb_mip, before_b, k_nearest=k_nearest, time_limit=mip_time_limit)
        lab[~reach] = -1
        starts.append(("mip", lab))
    else:
        status = "not used"
        starts.append(("grow", grow_regions(pb)))
    timings["solve_s"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    # The nearest-post baseline is contiguous along roads already; balancing from it
    # moves only the blocks the balance needs.
    start_b = before.copy()
    start_b[~reach] = -1
    start_b[uniq_blocks] = np.arange(n_units)
    starts.append(("baseline", start_b))
    candidates = _refine_starts(starts, pb, before, insp, seed=seed, restarts=restarts,
                                local_time_limit=local_time_limit, t3=t3)
    chosen = min(candidates, key=lambda c: c.key)
    timings["repair_local_s"] = time.perf_counter() - t3
    node_after = chosen.lab[blocks.node_block]
    return node_after, pb, status, candidates, chosen


def _refine_starts(starts: list[tuple[str, np.ndarray]], pb: BlockProblem, before: np.ndarray, insp: np.ndarray, *,
                   seed: int, restarts: int, local_time_limit: float, t3: float) -> list[Candidate]:
    """Each start refined, then perturbed copies of the best so far while the time lasts."""
    rng = np.random.default_rng(seed)
    candidates: list[Candidate] = []
    deadline = t3 + local_time_limit
    for k in range(len(starts) + max(restarts, 0)):
        left = deadline - time.perf_counter()
        if k >= len(starts):
            if left < 0.25 * local_time_limit:
                break  # no time for another perturbed start
            best = min(candidates, key=lambda c: c.key)
            # A perturbed start: the best result so far with a few precincts' borders
            # shaken (random boundary blocks given to a neighbour, then repaired).
            name, start = f"perturbed-{k - len(starts) + 1}", perturb(best.lab, pb, rng)
        else:
            name, start = starts[k]
            left = max(left, 0.25 * local_time_limit)
        cand = refine(name, start, pb, before, insp, time_limit=left)
        candidates.append(cand)
        progress.report("restarts", k + 1, len(starts) + max(restarts, 0))  # a job's progress; may cancel it
    return candidates


def _band_figures(lab: np.ndarray, before: np.ndarray, node_after: np.ndarray, node_ld: np.ndarray,
                  pb: BlockProblem, insp: np.ndarray, stuck: np.ndarray, unit_ids: list[str],
                  fig_before: dict[str, Any], fig_after: dict[str, Any], timings: dict[str, float], *,
                  tolerance: float, max_extra_travel_min: float | None, local_time_limit: float,
                  bound_time_limit: float) -> None:
    """Add to the figures (block methods): reasons outside the band, the excess beyond the
    band against its LP lower bounds, the extra travel, and the held-back precincts."""
    fig_after["out_of_band"] = out_of_band_reasons(lab, pb, unit_ids)
    # How far outside the band the proposal is, against the LP lower bound.
    t5 = time.perf_counter()
    reach_sets = reachable(pb)
    # One after the other (about 3.5 s together under the default rule on Almaty).
    bound = balance_bound(pb, reach=reach_sets, time_limit=bound_time_limit)
    sq_bound = balance_bound(pb, reach=reach_sets, time_limit=bound_time_limit, measure="squared")
    ex_a, ex_b = excess(lab, pb), excess(before, pb)
    fig_before["beyond_band"] = round(float(ex_b.sum()), 4)
    fig_before["squared_excess"] = round(float((ex_b ** 2).sum()), 4)
    fig_after["beyond_band"] = round(float(ex_a.sum()), 4)
    fig_after["beyond_band_lower_bound"] = None if bound is None else round(bound, 4)
    fig_after["squared_excess"] = round(float((ex_a ** 2).sum()), 4)
    fig_after["squared_excess_lower_bound"] = None if sq_bound is None else round(sq_bound, 4)
    fig_before["extra_travel"] = extra_travel(before, pb)
    fig_after["extra_travel"] = extra_travel(lab, pb)
    if max_extra_travel_min is not None:
        # Blocks the rule would not let their post take (a contiguity repair had no other choice).
        fig_after["blocks_breaking_rule"] = int(((lab >= 0) & ~pb.allowed[np.maximum(lab, 0),
                                                                           np.arange(len(lab))]).sum())
    timings["bound_s"] = time.perf_counter() - t5
    if stuck.any():
        limited_figs, at_level = limited_figures(lab, node_after, node_ld, pb, insp, stuck, unit_ids,
                                                  time_limit=min(3.0, 0.1 * local_time_limit), reach=reach_sets,
                                                  bound_time_limit=bound_time_limit)
        fig_after.update(limited_figs)
        _held_back_notes(fig_after, at_level, tolerance=tolerance, max_extra_travel_min=max_extra_travel_min)


def _held_back_notes(fig_after: dict[str, Any], at_level: list[str], *, tolerance: float,
                     max_extra_travel_min: float | None) -> None:
    """Add to the reasons of the precincts below the band what their group shows, and to
    the others' that they are within the tolerance of the level they share."""
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


def _summary(blocks: Blocks, p: pd.DataFrame, n_units: int, before: np.ndarray, lab: np.ndarray,
             node_before: np.ndarray, node_after: np.ndarray, reach: np.ndarray, used: dict[str, float], status: str,
             fig_before: dict[str, Any], fig_after: dict[str, Any], chosen: Candidate | None,
             candidates: list[Candidate], contiguous: bool, *, method: str, cell_m: float,
             tolerance: float) -> dict[str, Any]:
    """The result's ``summary`` (the timings are added last)."""
    moved = before != lab
    node_moved = node_before != node_after
    return {
        "method": METHODS[method],
        "posts": len(p), "precincts": n_units, "blocks": blocks.n, "cell_m": cell_m, "tolerance": tolerance,
        "hard_border_edges_cut": blocks.cut_edges, "unreached_blocks": int((~reach).sum()),
        "weights_used": used, "mip_status": status,
        "before": fig_before, "after": fig_after,
        "moved_blocks": int(moved.sum()), "moved_nodes": int(node_moved.sum()),
        "moved_residents": round(float(blocks.node_parts["residents"][node_moved].sum()), 1),
        "repaired_blocks": chosen.repaired if chosen is not None else 0,
        "boundary_moves": chosen.moves if chosen is not None else 0,
        "start": chosen.name if chosen is not None else None,
        "candidates": [c.info() for c in candidates],
        "contiguous": bool(contiguous),
    }


def _units_table(blocks: Blocks, node_before: np.ndarray, node_after: np.ndarray, before: np.ndarray,
                 lab: np.ndarray, node_ld: np.ndarray, node_time: np.ndarray, insp: np.ndarray, target: np.ndarray,
                 unit_ids: list[str], unit_posts: list[list[str]]) -> pd.DataFrame:
    """The result's ``units``: one row per precinct, with its figures before and after."""
    n_units = len(unit_ids)
    n_nodes = len(node_before)
    rows = []
    res_node = blocks.node_parts["residents"]
    area_node = blocks.node_parts["area"]
    for name, nl in (("before", node_before), ("after", node_after)):
        ok = nl >= 0
        ul = np.bincount(nl[ok], weights=node_ld[ok], minlength=n_units)
        tt = np.where(ok, node_time[np.maximum(nl, 0), np.arange(n_nodes)], np.nan)
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
    return pd.DataFrame({"precinct_id": unit_ids, "post_ids": [",".join(x) for x in unit_posts],
                         "inspectors": insp, "target": target, **rows[0], **rows[1]})


def _blocks_table(blocks: Blocks, load: np.ndarray, unit_ids: list[str], before: np.ndarray,
                  lab: np.ndarray) -> pd.DataFrame:
    """The result's ``blocks``: one row per block, with its precinct before and after."""
    ids = np.array(unit_ids + [""], dtype=object)
    return pd.DataFrame({"block": np.arange(blocks.n), "lat": blocks.lat, "lon": blocks.lon,
                         "residents": blocks.residents, "area_km2": blocks.area_km2, "road_km": blocks.road_km,
                         "load": load, "before": ids[before], "after": ids[lab]})


def _fill_unreached(g: Any, node_after: np.ndarray, unit_node: np.ndarray) -> np.ndarray:
    """Nodes no post reaches take the precinct of the nearest assigned node (for polygons only)."""
    n_units = len(unit_node)
    node_final = node_after.copy()
    node_final[unit_node] = np.arange(n_units)
    if (node_final < 0).any() and (node_final >= 0).any():
        src = np.flatnonzero(node_final >= 0)
        _, _, sources = dijkstra(g.csr(), directed=False, indices=src, min_only=True, return_predecessors=True)
        fill = (node_final < 0) & (sources >= 0)
        node_final[fill] = node_final[sources[fill]]
    return node_final

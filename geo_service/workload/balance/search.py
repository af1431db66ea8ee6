"""Construction and boundary moves: region growing, the weighted Voronoi, the contiguity-keeping
local search, held-back levels and the several starts it refines."""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from geo_service import progress
from geo_service.workload.balance.blocks import neighbours
from geo_service.workload.balance.contiguity import Cuts, articulation, repair_contiguity
from geo_service.workload.balance.problem import BlockProblem, excess, imbalance_cost
from geo_service.workload.indicators import max_min_ratio

#: Weight of a block with no load in the travel cost (share of the mean block load).
EMPTY_BLOCK_WEIGHT = 0.05


#: First offset step of the weighted Voronoi, as a share of the median travel time to a post.
STEP_SHARE = 0.05


def local_search(lab: np.ndarray, pb: BlockProblem, *, max_moves: int = 20000, time_limit: float = 20.0
                 ) -> tuple[np.ndarray, int]:
    """Boundary-block moves that keep contiguity and lower imbalance + compactness cost."""
    lab = lab.copy()
    n_units = len(pb.target)
    indptr, indices = neighbours(pb.adj)
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
    cuts: dict[int, tuple[int, Cuts]] = {}
    version = np.zeros(n_units, dtype=np.int64)
    while moves < max_moves and time.perf_counter() - t0 < time_limit:
        progress.check()  # a cancelled job stops here, between two rounds of moves
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
        gp_old = imbalance_cost(unit_load[p], pb.target[p], pb.tol)
        gq_old = imbalance_cost(unit_load[q], pb.target[q], pb.tol)
        gp_new = imbalance_cost(unit_load[p] - lb, pb.target[p], pb.tol)
        gq_new = imbalance_cost(unit_load[q] + lb, pb.target[q], pb.tol)
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
                cached = (int(version[pp]), articulation(lab == pp, int(pb.post_block[pp]), indptr, indices))
                cuts[pp] = cached
            if bb in cached[1].hanging:
                # A cut block: move it with everything it cuts off from the post (a branch).
                br = cached[1].branch(bb)
                if not pb.allowed[qq, br].all():
                    continue
                lbr = float(pb.load[br].sum())
                d = (imbalance_cost(np.array([unit_load[pp] - lbr]), pb.target[pp:pp + 1], pb.tol)[0]
                     + imbalance_cost(np.array([unit_load[qq] + lbr]), pb.target[qq:qq + 1], pb.tol)[0]
                     - imbalance_cost(np.array([unit_load[pp]]), pb.target[pp:pp + 1], pb.tol)[0]
                     - imbalance_cost(np.array([unit_load[qq]]), pb.target[qq:qq + 1], pb.tol)[0]
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
class Candidate:
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
        return {"start": self.name, "within_tolerance": self.within, "excess": round(self.excess, 4),
                "max_min_ratio": ratio, "moved_blocks": self.moved, "seconds": round(self.seconds, 2)}


def _rank(lab: np.ndarray, pb: BlockProblem, insp: np.ndarray, before: np.ndarray) -> tuple[int, float, int]:
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


def target_levels(lab: np.ndarray, pb: BlockProblem, insp: np.ndarray, limited: np.ndarray) -> np.ndarray:
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


def refine(name: str, start: np.ndarray, pb: BlockProblem, before: np.ndarray, insp: np.ndarray, *,
            time_limit: float, rounds: int = 2) -> Candidate:
    """Contiguity repair, boundary moves towards the targets, then towards the levels the
    geography allows (`target_levels`), and a final repair.

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
        levels = target_levels(lab, pb, insp, limited)
        left = max(time_limit - (time.perf_counter() - t0), 0.0)
        lab, m2 = local_search(lab, BlockProblem(**{**pb.__dict__, "target": levels}), time_limit=left / (rounds - k))
        moves += m2
    lab, r2 = repair_contiguity(lab, pb.adj, pb.post_block, pb.load, pb.target, allowed=pb.allowed)
    within, ratio, moved = _rank(lab, pb, insp, before)
    sq_excess = float((excess(lab, pb) ** 2).sum())
    return Candidate(name=name, lab=lab, moves=moves, repaired=r1 + r2, stuck=limited, within=within, ratio=ratio,
                      moved=moved, seconds=time.perf_counter() - t0, excess=sq_excess)


def perturb(lab: np.ndarray, pb: BlockProblem, rng: np.random.Generator, *, share: float = 0.3) -> np.ndarray:
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


def grow_regions(pb: BlockProblem, lab: np.ndarray | None = None) -> np.ndarray:
    """Capacitated region growing: the least-loaded precinct (relative to its target) takes
    its nearest free neighbouring block, until no precinct can grow. Contiguous by
    construction; blocks no precinct reaches stay -1. From ``lab`` when given (its -1
    blocks are the free ones), else from the posts' blocks."""
    n_units = len(pb.target)
    n_blocks = len(pb.load)
    indptr, indices = neighbours(pb.adj)
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


def grow_first(pb: BlockProblem, u: int, share: float, seeds: np.ndarray | None = None) -> np.ndarray:
    """Precinct ``u`` grows alone first from ``seeds`` (default: its post's block), taking
    the nearest blocks by travel time around every other post, up to ``share`` of its
    target; then all the others grow from their posts."""
    n_blocks = len(pb.load)
    indptr, indices = neighbours(pb.adj)
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

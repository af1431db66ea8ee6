"""How far from the band a proposal could be at best: the LP lower bounds, the ways out of a
group's area (max-flow), and the reach of a group merged into one precinct."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, maximum_flow

from geo_service.solvers.highs import run_highs
from geo_service.workload.balance.contiguity import repair_contiguity
from geo_service.workload.balance.problem import BlockProblem
from geo_service.workload.balance.search import grow_first, local_search


def ways_out(lab: np.ndarray, pb: BlockProblem, group: np.ndarray) -> int:
    """How many separate ways (block paths sharing no block, avoiding other posts' blocks)
    lead from the group's posts out of the group's area (its blocks in ``lab``).

    A max-flow with unit block capacities. Each precinct of the group that reaches work
    beyond its area holds one such way, so at most this many can: a bound, not a
    heuristic.
    """
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


def reachable(pb: BlockProblem) -> np.ndarray:
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


def extra_travel(lab: np.ndarray, pb: BlockProblem, *, over_min: float = 60.0) -> dict[str, float | None]:
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


def balance_bound(pb: BlockProblem, *, group: np.ndarray | None = None, reach: np.ndarray | None = None,
                  time_limit: float = 20.0, measure: str = "beyond") -> float | None:
    """A lower bound on how far precincts must stay outside the band: the LP relaxation.

    Every block is shared (fractionally) among the posts that could hold it in a
    contiguous precinct under the rules (`reachable`), and the sum over precincts of
    the load beyond their band (relative to their target) is minimised. Contiguity and
    whole blocks are relaxed, so no proposal that keeps the rules does better (blocks no
    post can reach under them are left out): a bound above zero proves that not every
    precinct can be within the band. With ``group`` only that group's
    precincts count, and the others may take any load: a bound above zero proves the
    group falls short (in sum) even if every other precinct gave up its balance.
    ``measure="squared"`` bounds the sum of the squared excesses instead (what the boundary
    moves minimise, `imbalance_cost`): each square is replaced by the most its tangents at
    `SQUARE_TANGENTS` say, which is never more than the square, so the LP value is still a
    lower bound. Unlike the plain sum, the squares do not let one precinct carry all the
    excess as cheaply as many share it.
    Returns None when HiGHS finds no answer in ``time_limit``.
    """
    if measure not in ("beyond", "squared"):
        raise ValueError(f"measure must be 'beyond' or 'squared', not {measure!r}")

    reach = reachable(pb) if reach is None else reach
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
    x, obj, _bound, _gap, status = run_highs(n, cost, lower, upper, np.zeros(n, dtype=bool), a, row_lo, row_hi,
                                             maximise=False, start=None, time_limit=time_limit, mip_gap=0.0,
                                             relax=True, solver="ipm")
    if x is None or obj is None or status != "optimal":
        return None  # only an optimal LP value is a bound
    return max(float(obj), 0.0)


def merged_reach(lab: np.ndarray, pb: BlockProblem, group: np.ndarray, *, time_limit: float = 3.0,
                 share: float = 0.6) -> float:
    """The share of its combined target a group of precincts reaches as ONE precinct.

    The group's blocks become one precinct (travel time: from the nearest of its posts)
    and the contiguity-keeping boundary moves run against the nominal targets, from two
    starts: the current precincts merged, and the merged group grown first (up to
    ``share`` of its target, around the other posts) with the others grown after it. The
    better reach is returned, capped at 1 (the group can hold its whole share). When even the merged group stays
    below its band, the work is not within its reach; when it reaches the band but its precincts do not, its
    posts are too many for the ways into the work. A heuristic test, not a bound.
    """
    n_units = len(pb.target)
    rest = np.setdiff1d(np.arange(n_units), group)
    newid = np.full(n_units, -1, dtype=np.int64)
    newid[group] = 0
    newid[rest] = np.arange(1, len(rest) + 1)
    lab2 = np.where(lab >= 0, newid[np.maximum(lab, 0)], -1)
    tgt = np.concatenate([[pb.target[group].sum()], pb.target[rest]])
    merged = BlockProblem(load=pb.load, target=tgt, tol=pb.tol,
                      time_min=np.vstack([pb.time_min[group].min(axis=0), pb.time_min[rest]]),
                      post_block=np.concatenate([[pb.post_block[group[0]]], pb.post_block[rest]]),
                      adj=pb.adj, compactness=pb.compactness,
                      allowed=np.vstack([pb.allowed[group].any(axis=0), pb.allowed[rest]]),
                      time_first=np.vstack([pb.time_first[group].min(axis=0), pb.time_first[rest]]))
    best = 0.0
    # The group's other post blocks are ordinary blocks of the merged problem; the
    # grown-first start keeps them in the group.
    first = grow_first(merged, 0, share, seeds=pb.post_block[group])
    for start in (lab2, first):
        cur, _ = repair_contiguity(start, pb.adj, merged.post_block, pb.load, tgt)
        cur, _ = local_search(cur, merged, time_limit=time_limit / 2)
        best = max(best, float(pb.load[cur == 0].sum() / tgt[0]))
    return min(best, 1.0)

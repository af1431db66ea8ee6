"""The Hess assignment MIP with elastic balance rows and shortest-path-tree contiguity rows (HiGHS)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from geo_service.solvers.highs import run_highs
from geo_service.workload.balance.problem import BlockProblem
from geo_service.workload.balance.search import EMPTY_BLOCK_WEIGHT

#: Penalty (minutes of travel per unit of load) of leaving a post's balance band in the MIP.
BALANCE_PENALTY = 1000.0


def solve_assignment(pb: BlockProblem, start: np.ndarray, *, k_nearest: int, time_limit: float,
                     mip_gap: float = 0.005) -> tuple[np.ndarray, str]:
    """The capacitated assignment MIP (Hess model, elastic balance rows) in HiGHS."""
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
    x, _obj, _bound, _gap, status = run_highs(nx + 2 * n_units, cost, lower, upper, integer, a, row_lo, row_hi,
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

"""The p-median (spopt's ``p_median.py``): least weighted mean travel time with p new posts, a
MIP over the reduced assignment columns, or greedy + swaps with a Lagrangian bound."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from geo_service.errors import InputError
from geo_service.siting.base import SitingModel, Solution
from geo_service.solvers.highs import relative_gap, run_highs

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------- p-median
class PMedian(SitingModel):
    """p-median: the least weighted mean travel time to the nearest open post."""

    name = "pmedian"
    needs_time = False

    def _require_cost(self) -> np.ndarray:
        """The demand x site cost matrix (checked in `_check_model`)."""
        if self.cost is None:
            msg = "the p-median needs a cost matrix"
            raise InputError(msg)
        return self.cost

    def _check_model(self) -> None:
        reach = np.isfinite(self._require_cost()).any(axis=1)
        bad = (self.weights > 0) & ~reach
        if bad.any():
            msg = f"{int(bad.sum())} demand point(s) cannot be reached from any site"
            raise InputError(msg)

    def _score(self, y: np.ndarray) -> float:
        t = self.mean_time(y)
        return float("inf") if t is None else t

    def _better(self, a: float, b: float | None) -> bool:
        return b is None or a < b

    def _solve(self, p: int | None) -> Solution:
        import scipy.sparse as sp  # noqa: PLC0415 - loaded on first solve, not at server start

        t0 = time.perf_counter()
        keep = self.weights > 0
        c = self._require_cost()[keep]
        w = self.weights[keep]
        fixed = self.sites.fixed
        free = np.flatnonzero(~fixed)
        n, m = c.shape
        p = self._require_p(p)
        y0 = _greedy_median(c, w, fixed, p)
        y0 = _swap_median(c, w, fixed, y0)
        greedy_obj = _median_value(c, w, y0)
        # Exact reduction: a row is never assigned beyond its nearest fixed site.
        cap = c[:, fixed].min(axis=1) if fixed.any() else np.full(n, np.inf)
        allowed = np.isfinite(c) & (c <= cap[:, None])
        allowed[:, fixed] &= c[:, fixed] <= cap[:, None]
        ii, jj = np.nonzero(allowed)
        nx = len(ii)
        heuristic = self.method == "heuristic" or (self.method == "auto" and 3 * nx > self.max_mip_size)
        if heuristic:
            lagrangian = _lagrangian_median(c, w, fixed, p)
            return Solution(y0, greedy_obj, lagrangian, relative_gap(greedy_obj, lagrangian), "heuristic",
                            "greedy+swap+lagrangian_bound", time.perf_counter() - t0)
        # Columns: y (m), x (nx). Rows: sum_j x_ij = 1 (n); x_ij - y_j <= 0 (nx); sum_{free} y = p.
        ncol = m + nx
        k = np.arange(nx)
        assign = sp.csr_matrix((np.ones(nx), (ii, m + k)), shape=(n, ncol))
        link = sp.csr_matrix((np.concatenate([np.ones(nx), -np.ones(nx)]),
                              (np.concatenate([k, k]), np.concatenate([m + k, jj]))), shape=(nx, ncol))
        card = sp.csr_matrix((np.ones(len(free)), (np.zeros(len(free), dtype=np.int64), free)), shape=(1, ncol))
        amat = sp.vstack([assign, link, card], format="csr")
        lo = np.concatenate([np.ones(n), np.full(nx, -np.inf), [p]])
        hi = np.concatenate([np.ones(n), np.zeros(nx), [p]])
        cost = np.concatenate([np.zeros(m), w[ii] * c[ii, jj]])
        lower = np.zeros(ncol)
        lower[np.flatnonzero(fixed)] = 1.0
        # Warm start: the greedy sites, each row to its nearest open site.
        masked = np.where(y0[None, :], c, np.inf)
        near = masked.argmin(axis=1)
        x0 = (jj == near[ii]).astype(np.float64)
        # A row's nearest open site may be outside ``allowed`` only on a tie with a fixed site.
        start = np.concatenate([y0.astype(np.float64), x0]) if np.all(np.bincount(ii, weights=x0, minlength=n) == 1) \
            else None
        x, obj, bound, gap, status = run_highs(
            ncol, cost, lower, np.ones(ncol), np.arange(ncol) < m, amat, lo, hi, maximise=False, start=start,
            time_limit=self.time_limit, mip_gap=self.mip_gap)
        if x is None:  # no incumbent within the time limit: the greedy sites are feasible
            logger.warning("p-median: HiGHS found no solution (%s); returning the greedy sites", status)
            return Solution(y0, _median_value(c, w, y0), None, None, f"greedy ({status})", "greedy",
                            time.perf_counter() - t0)
        y = np.rint(x[:m]).astype(bool)
        return Solution(y, _median_value(c, w, y), bound, gap, status, "mip", time.perf_counter() - t0)

    def to_dict(self, **kw: Any) -> dict[str, Any]:
        out = super().to_dict(**kw)
        total = self.weights.sum()
        out["objective_mean"] = self.result.objective / total if total else None
        return out


def _median_value(c: np.ndarray, w: np.ndarray, y: np.ndarray) -> float:
    return float((w * c[:, y].min(axis=1)).sum())


def _greedy_median(c: np.ndarray, w: np.ndarray, fixed: np.ndarray, p: int) -> np.ndarray:
    """Greedy p-median: add the site that lowers the total weighted time most."""
    big = np.where(np.isfinite(c), c, np.nan)
    big = np.nan_to_num(big, nan=(np.nanmax(big) if np.isfinite(np.nanmax(big)) else 1.0) * 1e3 + 1.0)
    y = fixed.copy()
    cur = big[:, y].min(axis=1) if y.any() else np.full(len(w), np.inf)
    for _ in range(p):
        tot = (w[:, None] * np.minimum(cur[:, None], big)).sum(axis=0)
        tot[y] = np.inf
        j = int(np.argmin(tot))
        y[j] = True
        cur = np.minimum(cur, big[:, j])
    return y


def _swap_median(c: np.ndarray, w: np.ndarray, fixed: np.ndarray, y: np.ndarray, *,
                 max_rounds: int = 3) -> np.ndarray:
    """Teitz-Bart swaps (first improvement over the open free sites), a few rounds."""
    big = np.where(np.isfinite(c), c, 1e18)
    y = y.copy()
    best = float((w * big[:, y].min(axis=1)).sum())
    for _ in range(max_rounds):
        improved = False
        for out in np.flatnonzero(y & ~fixed):
            y[out] = False
            cur = big[:, y].min(axis=1)
            tot = (w[:, None] * np.minimum(cur[:, None], big)).sum(axis=0)
            tot[y] = np.inf
            tot[out] = np.inf
            j = int(np.argmin(tot))
            if tot[j] < best - 1e-9 * max(1.0, abs(best)):
                y[j] = True
                best = float(tot[j])
                improved = True
            else:
                y[out] = True
        if not improved:
            break
    return y


def _lagrangian_median(c: np.ndarray, w: np.ndarray, fixed: np.ndarray, p: int, *, iters: int = 200) -> float:
    """A lower bound for the p-median by Lagrangian relaxation of the assignment rows."""
    big = np.where(np.isfinite(c), w[:, None] * c, 1e18)
    lam = big.min(axis=1).copy()
    best = -np.inf
    ub = float(_median_value(c, w, _greedy_median(c, w, fixed, p)))
    step = 2.0
    free = ~fixed
    for _ in range(iters):
        red = np.minimum(big - lam[:, None], 0.0)
        rho = red.sum(axis=0)
        open_ = fixed.copy()
        cand = np.flatnonzero(free)
        open_[cand[np.argsort(rho[cand], kind="stable")[:p]]] = True
        val = float(lam.sum() + rho[open_].sum())
        best = max(best, val)
        # Subgradient: 1 - sum_j x_ij, with x_ij = 1 where reduced cost < 0 and j open.
        g = 1.0 - ((big - lam[:, None] < 0) & open_[None, :]).sum(axis=1)
        norm = float((g * g).sum())
        if norm == 0:
            break
        lam = lam + step * (ub - val) / norm * g
        step *= 0.97
    return best

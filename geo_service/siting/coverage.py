"""The coverage models (spopt's ``coverage.py``): MCLP, LSCP and backup coverage, each a sparse
MIP for HiGHS warm-started by a greedy solution, which is also the answer past ``max_mip_size``."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from geo_service.errors import InputError
from geo_service.siting.base import SitingModel, Solution
from geo_service.solvers.highs import relative_gap, run_highs

if TYPE_CHECKING:
    import scipy.sparse as sp


logger = logging.getLogger(__name__)


@overload
def _merge_rows(a: sp.csr_matrix, w: np.ndarray, extra: None = None) -> tuple[sp.csr_matrix, np.ndarray, None]: ...
@overload
def _merge_rows(a: sp.csr_matrix, w: np.ndarray, extra: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]: ...
def _merge_rows(a: sp.csr_matrix, w: np.ndarray, extra: np.ndarray | None = None
                ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray | None]:
    """Merge identical rows of a 0/1 CSR matrix (same columns and same ``extra``), summing weights."""
    a = a.tocsr()
    a.sort_indices()
    keys: dict[tuple, int] = {}
    group = np.empty(a.shape[0], dtype=np.int64)
    ind, ptr = a.indices, a.indptr
    for i in range(a.shape[0]):
        key = (ind[ptr[i]:ptr[i + 1]].tobytes(), None if extra is None else int(extra[i]))
        g = keys.get(key)
        if g is None:
            g = keys[key] = len(keys)
        group[i] = g
    first = np.zeros(len(keys), dtype=np.int64)
    first[group[::-1]] = np.arange(a.shape[0])[::-1]
    w2 = np.bincount(group, weights=w, minlength=len(keys))
    return a[first], w2, None if extra is None else extra[first]

# ----------------------------------------------------------------- coverage models
class _CoverageModel(SitingModel):
    """MCLP, LSCP and backup coverage share the reduction of the coverage matrix."""

    def _free(self) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
        import scipy.sparse as sp  # noqa: PLC0415 - loaded on first solve, not at server start

        fixed = self.sites.fixed
        free = np.flatnonzero(~fixed)
        a = self._require_cover().tocsc()
        k_fixed = np.asarray(a[:, np.flatnonzero(fixed)].sum(axis=1)).ravel().astype(np.int64)
        a_free = sp.csr_matrix(a[:, free], dtype=np.int8)
        a_free.data[:] = 1
        return free, a_free, k_fixed

    def _y_full(self, free: np.ndarray, y_free: np.ndarray) -> np.ndarray:
        y = self.sites.fixed.copy()
        y[free[y_free.astype(bool)]] = True
        return y


class MCLP(_CoverageModel):
    """Maximal covering location: the most demand within T with p new posts."""

    name = "mclp"

    def _solve(self, p: int | None) -> Solution:
        import scipy.sparse as sp  # noqa: PLC0415 - loaded on first solve, not at server start

        t0 = time.perf_counter()
        free, a_free, k_fixed = self._free()
        w = self.weights
        base = float(w[k_fixed > 0].sum())
        rows = (k_fixed == 0) & (np.diff(a_free.indptr) > 0) & (w > 0)
        a, wr, _ = _merge_rows(a_free[rows], w[rows])
        y0 = _greedy_cover(a, wr, self._require_p(p))
        greedy_obj = base + float(wr[np.asarray(a @ y0).ravel() > 0].sum())
        nc, nr = len(free), a.shape[0]
        size = a.nnz + nc + nr
        if nr == 0:
            return Solution(self._y_full(free, y0), greedy_obj, greedy_obj, 0.0, "optimal", "trivial",
                            time.perf_counter() - t0)
        # Columns: y (nc, binary), z (nr, [0, 1]). Rows: z_r - sum_{j in N_r} y_j <= 0; sum y = p.
        cover_rows = sp.hstack([-a.astype(np.float64), sp.identity(nr, format="csr")], format="csr")
        card = sp.csr_matrix((np.ones(nc), (np.zeros(nc, dtype=np.int64), np.arange(nc))), shape=(1, nc + nr))
        amat = sp.vstack([cover_rows, card], format="csr")
        lo = np.concatenate([np.full(nr, -np.inf), [p]])
        hi = np.concatenate([np.zeros(nr), [p]])
        cost = np.concatenate([np.zeros(nc), wr])
        z0 = np.minimum(np.asarray(a @ y0).ravel(), 1)
        heuristic = self.method == "heuristic" or (self.method == "auto" and size > self.max_mip_size)
        x, obj, bound, gap, status = run_highs(
            nc + nr, cost, np.zeros(nc + nr), np.ones(nc + nr), np.arange(nc + nr) < nc, amat, lo, hi,
            maximise=True, start=np.concatenate([y0, z0]), time_limit=self.time_limit, mip_gap=self.mip_gap,
            relax=heuristic)
        if heuristic:
            lp_bound = base + obj if obj is not None else None
            return Solution(self._y_full(free, y0), greedy_obj, lp_bound,
                            None if lp_bound is None else relative_gap(greedy_obj, lp_bound), "heuristic",
                            "greedy+lp_bound", time.perf_counter() - t0)
        if x is None or bound is None:  # no incumbent within the time limit: the greedy solution is feasible
            logger.warning("MCLP: HiGHS found no solution (%s); returning the greedy one", status)
            return Solution(self._y_full(free, y0), greedy_obj, None, None, f"greedy ({status})", "greedy",
                            time.perf_counter() - t0)
        y_free = np.rint(x[:nc]).astype(bool)
        # Report the objective from the chosen sites (exact, not the solver's float).
        y = self._y_full(free, y_free)
        obj_exact = base + float(wr[np.asarray(a @ y_free.astype(np.int64)).ravel() > 0].sum())
        return Solution(y, obj_exact, base + bound, gap, status, "mip", time.perf_counter() - t0)


class LSCP(_CoverageModel):
    """Location set covering: the fewest new posts that put all demand within T."""

    name = "lscp"
    needs_p = False

    def _check_model(self) -> None:
        reach = np.asarray(self._require_cover().sum(axis=1)).ravel() > 0
        need = self.weights > 0
        bad = need & ~reach
        if bad.any():
            idx = np.flatnonzero(bad)
            where = ""
            if self.points is not None:
                pts = np.flatnonzero(np.isin(self.points.row, idx))[:3]
                where = " (e.g. " + ", ".join(f"{self.points.lat[i]:.5f},{self.points.lon[i]:.5f}"
                                             for i in pts) + ")"
            msg = (f"no candidate site reaches {len(idx)} demand point(s) within the time limit{where}: "
                   "every demand point cannot be covered; add candidates, raise T or use MCLP")
            raise InputError(msg, uncoverable=int(len(idx)), uncoverable_weight=float(self.weights[idx].sum()))

    def _solve(self, p: int | None) -> Solution:
        t0 = time.perf_counter()
        free, a_free, k_fixed = self._free()
        rows = (k_fixed == 0) & (self.weights > 0)
        a, wr, _ = _merge_rows(a_free[rows], self.weights[rows])
        nc, nr = len(free), a.shape[0]
        if nr == 0:
            return Solution(self.sites.fixed.copy(), 0.0, 0.0, 0.0, "optimal", "trivial", time.perf_counter() - t0)
        y0 = _greedy_set_cover(a)
        heuristic = self.method == "heuristic" or (self.method == "auto" and a.nnz > self.max_mip_size)
        x, obj, bound, gap, status = run_highs(
            nc, np.ones(nc), np.zeros(nc), np.ones(nc), np.ones(nc, dtype=bool), a.astype(np.float64),
            np.ones(nr), np.full(nr, np.inf), maximise=False, start=y0, time_limit=self.time_limit,
            mip_gap=self.mip_gap, relax=heuristic)
        if heuristic:
            g = float(y0.sum())
            return Solution(self._y_full(free, y0), g, obj, None if obj is None else relative_gap(g, obj), "heuristic",
                            "greedy+lp_bound", time.perf_counter() - t0)
        if x is None:  # no incumbent within the time limit: the greedy cover is feasible
            logger.warning("LSCP: HiGHS found no solution (%s); returning the greedy cover", status)
            return Solution(self._y_full(free, y0), float(y0.sum()), None, None, f"greedy ({status})", "greedy",
                            time.perf_counter() - t0)
        y_free = np.rint(x[:nc]).astype(bool)
        return Solution(self._y_full(free, y_free), float(y_free.sum()), bound, gap, status, "mip",
                        time.perf_counter() - t0)

    def to_dict(self, **kw: Any) -> dict[str, Any]:
        out = super().to_dict(**kw)
        out["p"] = int(len(self.chosen))
        return out


class BackupCoverage(_CoverageModel):
    """Backup coverage: demand within T of one and of two open posts (BACOP2)."""

    name = "backup"

    def _solve(self, p: int | None) -> Solution:
        import scipy.sparse as sp  # noqa: PLC0415 - loaded on first solve, not at server start

        t0 = time.perf_counter()
        free, a_free, k_fixed = self._free()
        w, th = self.weights, self.theta
        k_fixed = np.minimum(k_fixed, 2)
        base = float(w[k_fixed >= 2].sum())  # theta + (1 - theta) each
        rows = (k_fixed < 2) & ((np.diff(a_free.indptr) > 0) | (k_fixed > 0)) & (w > 0)
        a, wr, kf = _merge_rows(a_free[rows], w[rows], k_fixed[rows])
        nc, nr = len(free), a.shape[0]
        y0 = _greedy_backup(a, wr, kf, self._require_p(p), th)

        def value(y_free: np.ndarray) -> float:
            k = np.asarray(a @ y_free.astype(np.int64)).ravel() + kf
            return base + float((wr * (th * (k >= 1) + (1 - th) * (k >= 2))).sum())

        if nr == 0:
            return Solution(self._y_full(free, y0), value(y0), value(y0), 0.0, "optimal", "trivial",
                            time.perf_counter() - t0)
        # Columns: y (nc), z1 (nr), z2 (nr). Rows: z1 + z2 - sum y <= kf; z2 - z1 <= 0; sum y = p.
        eye = sp.identity(nr, format="csr")
        r1 = sp.hstack([-a.astype(np.float64), eye, eye], format="csr")
        r2 = sp.hstack([sp.csr_matrix((nr, nc)), -eye, eye], format="csr")
        card = sp.csr_matrix((np.ones(nc), (np.zeros(nc, dtype=np.int64), np.arange(nc))),
                             shape=(1, nc + 2 * nr))
        amat = sp.vstack([r1, r2, card], format="csr")
        lo = np.concatenate([np.full(2 * nr, -np.inf), [p]])
        hi = np.concatenate([kf.astype(np.float64), np.zeros(nr), [p]])
        cost = np.concatenate([np.zeros(nc), th * wr, (1 - th) * wr])
        k0 = np.asarray(a @ y0).ravel() + kf
        start = np.concatenate([y0, (k0 >= 1).astype(float), (k0 >= 2).astype(float)])
        heuristic = self.method == "heuristic" or (self.method == "auto" and amat.nnz > self.max_mip_size)
        x, obj, bound, gap, status = run_highs(
            nc + 2 * nr, cost, np.zeros(nc + 2 * nr), np.ones(nc + 2 * nr), np.arange(nc + 2 * nr) < nc,
            amat, lo, hi, maximise=True, start=start, time_limit=self.time_limit, mip_gap=self.mip_gap,
            relax=heuristic)
        if heuristic:
            g = value(y0)
            lp_bound = None if obj is None else base + obj
            return Solution(self._y_full(free, y0), g, lp_bound,
                            None if lp_bound is None else relative_gap(g, lp_bound), "heuristic", "greedy+lp_bound",
                            time.perf_counter() - t0)
        if x is None or bound is None:  # no incumbent within the time limit: the greedy one is feasible
            logger.warning("backup coverage: HiGHS found no solution (%s); returning the greedy one", status)
            return Solution(self._y_full(free, y0), value(y0), None, None, f"greedy ({status})", "greedy",
                            time.perf_counter() - t0)
        y_free = np.rint(x[:nc]).astype(bool)
        return Solution(self._y_full(free, y_free), value(y_free), base + bound, gap, status, "mip",
                        time.perf_counter() - t0)

    def _score(self, y: np.ndarray) -> float:
        k = np.asarray(self._require_cover() @ y.astype(np.int64)).ravel()
        tot = self.weights.sum()
        return float((self.weights * (self.theta * (k >= 1) + (1 - self.theta) * (k >= 2))).sum() / tot)

# --------------------------------------------------------------------- heuristics
def _greedy_cover(a: sp.csr_matrix, w: np.ndarray, p: int) -> np.ndarray:
    """Greedy MCLP: p times, open the site covering the most uncovered weight."""
    nc = a.shape[1]
    y = np.zeros(nc)
    at = a.T.tocsr().astype(np.float64)
    ac = a.tocsc()
    unc = w.astype(np.float64).copy()
    for _ in range(p):
        gains = at @ unc
        gains[y > 0] = -1.0
        j = int(np.argmax(gains))
        y[j] = 1.0
        unc[ac.indices[ac.indptr[j]:ac.indptr[j + 1]]] = 0.0
    return y


def _greedy_set_cover(a: sp.csr_matrix) -> np.ndarray:
    """Greedy set cover, then drop sites no row needs."""
    nc = a.shape[1]
    y = np.zeros(nc)
    at = a.T.tocsr().astype(np.float64)
    ac = a.tocsc()
    unc = np.ones(a.shape[0])
    while unc.any():
        gains = at @ unc
        j = int(np.argmax(gains))
        if gains[j] <= 0:
            break
        y[j] = 1.0
        unc[ac.indices[ac.indptr[j]:ac.indptr[j + 1]]] = 0.0
    # Remove redundant sites (latest first).
    count = np.asarray(a @ y).ravel()
    for j in np.flatnonzero(y)[::-1]:
        rows = ac.indices[ac.indptr[j]:ac.indptr[j + 1]]
        if (count[rows] >= 2).all():
            y[j] = 0.0
            count[rows] -= 1
    return y


def _greedy_backup(a: sp.csr_matrix, w: np.ndarray, kf: np.ndarray, p: int, th: float) -> np.ndarray:
    nc = a.shape[1]
    y = np.zeros(nc)
    at = a.T.tocsr().astype(np.float64)
    ac = a.tocsc()
    k = kf.astype(np.int64).copy()
    for _ in range(p):
        v = w * np.where(k == 0, th, np.where(k == 1, 1 - th, 0.0))
        gains = at @ v
        gains[y > 0] = -1.0
        j = int(np.argmax(gains))
        y[j] = 1.0
        k[ac.indices[ac.indptr[j]:ac.indptr[j + 1]]] += 1
    return y

"""HiGHS (highspy) glue shared by siting, balancing and scheduling: a silent instance, a sparse
(MI)LP run with a warm start, and the relative gap between an objective and its bound."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp


def silent_highs() -> Any:
    """A silent HiGHS instance (the public ``highspy.Highs`` prints a banner to stdout)."""
    import highspy  # noqa: PLC0415 - loaded on first solve (start-up time)

    core = getattr(highspy, "_core", None)
    h = core._Highs() if core is not None and hasattr(core, "_Highs") else highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def run_highs(num_col: int, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, integer: np.ndarray,
               a: sp.csr_matrix, row_lo: np.ndarray, row_hi: np.ndarray, *, maximise: bool,
               start: np.ndarray | None, time_limit: float, mip_gap: float, relax: bool = False,
               solver: str | None = None) -> tuple[np.ndarray | None, float | None, float | None, float | None, str]:
    """Solve a sparse (MI)LP; returns (x, objective, bound, gap, status). ``solver``: HiGHS's
    LP solver ("simplex", "ipm"; default: HiGHS chooses)."""
    import highspy  # noqa: PLC0415 - loaded on first solve (start-up time)

    h = silent_highs()
    if solver is not None:
        h.setOptionValue("solver", solver)
    lp = highspy.HighsLp()
    lp.num_col_ = num_col
    lp.num_row_ = a.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(row_lo, dtype=np.float64)
    lp.row_upper_ = np.asarray(row_hi, dtype=np.float64)
    lp.sense_ = highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
    a = a.tocsr()
    a.sort_indices()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = num_col
    lp.a_matrix_.num_row_ = a.shape[0]
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    if not relax:
        lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
                           for b in integer]
    h.passModel(lp)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("threads", 1)
    if start is not None and not relax:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=np.float64).tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    ms = highspy.HighsModelStatus
    info = h.getInfo()
    if status == ms.kOptimal:
        label = "optimal"
    elif status == ms.kTimeLimit:
        label = "time_limit"
    elif status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        return None, None, None, None, "infeasible"
    else:
        label = h.modelStatusToString(status)
    if info.primal_solution_status < 2:  # no feasible solution
        return None, None, None, None, label
    x = np.asarray(h.getSolution().col_value)
    obj = float(info.objective_function_value)
    if relax:
        return x, obj, obj, 0.0, label
    bound = float(info.mip_dual_bound)
    return x, obj, bound, relative_gap(obj, bound), label


def relative_gap(obj: float, bound: float) -> float:
    """``|bound - obj| / max(|bound|, |obj|)``; inf when the bound is not finite."""
    if not np.isfinite(bound):
        return float("inf")
    denom = max(abs(bound), abs(obj), 1e-12)
    return abs(bound - obj) / denom if denom > 0 else 0.0

"""HiGHS (highspy) glue shared by siting, balancing and scheduling: a silent instance, a sparse
(MI)LP run with a warm start, and the relative gap between an objective and its bound.

A run can be stopped from outside (a cancelled job): inside `interrupting(check)`,
`run_highs` asks HiGHS for its interrupt callbacks (MIP, simplex, IPM) and sets
``user_interrupt`` once ``check()`` says so (asked at most every `INTERRUPT_POLL_S`);
the run then ends in HiGHS's next callback and `run_highs` raises `Interrupted`. The
time limit applies as before. HiGHS asks its MIP interrupt where it checks its limits, about
once a second in the search, but not inside the sub-MIPs of its root heuristics (RINS, RENS),
so a stop can wait for one of those to end (0.4-1.4 s measured, 11 s the worst seen under
load, on a 25 s MCLP); the LP solves inside a MIP do not call the simplex interrupt."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp


#: How often (seconds) a run inside `interrupting` asks its ``check``.
INTERRUPT_POLL_S = 0.1

_CHECK: ContextVar[Callable[[], bool] | None] = ContextVar("geo_service_highs_interrupt", default=None)


class Interrupted(Exception):  # noqa: N818 - a signal to stop, not an error of the caller
    """A `run_highs` stopped by its `interrupting` check (a cancelled job)."""


@contextlib.contextmanager
def interrupting(check: Callable[[], bool]) -> Iterator[None]:
    """Run a block whose HiGHS runs stop (`Interrupted`) soon after ``check()`` is true."""
    token = _CHECK.set(check)
    try:
        yield
    finally:
        _CHECK.reset(token)


def _watch(h: Any, check: Callable[[], bool]) -> list[bool]:
    """Set HiGHS's interrupt callbacks on ``h``; the list's one flag tells whether it fired."""
    import highspy  # noqa: PLC0415 - loaded on first solve (start-up time)

    fired, next_at = [False], [0.0]

    def callback(_kind: int, _message: str, _out: Any, data_in: Any, _user: Any) -> None:
        now = time.monotonic()
        if fired[0] or now >= next_at[0]:
            next_at[0] = now + INTERRUPT_POLL_S
            if fired[0] or check():
                fired[0] = True
                data_in.user_interrupt = True

    h.setCallback(callback, None)
    kinds = highspy.cb.HighsCallbackType
    for kind in (kinds.kCallbackMipInterrupt, kinds.kCallbackSimplexInterrupt, kinds.kCallbackIpmInterrupt):
        h.startCallback(kind)
    return fired


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
    check = _CHECK.get()
    fired = _watch(h, check) if check is not None else [False]
    if check is not None and check():
        raise Interrupted
    h.run()
    if fired[0]:
        raise Interrupted
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

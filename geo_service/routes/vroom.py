"""VROOM's side of a day plan: the problem, the solve, and the priority rule.

`solve_with_priorities` chooses the visits so that no visit is dropped in favour of a
lower-priority one (see `geo_service.routes.day`); `geo_service.routes.polish` then polishes
the tour it returns. Both read the problem and the solution through this module.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from geo_service.errors import InputError
from geo_service.routes.model import Shift, Visit

#: VROOM priorities (0-100) of the first, single solve; the staged solve enforces the rule.
_CLASS_WEIGHT = {1: 90, 2: 27, 3: 8, 4: 2}
_PINNED = 100
#: Travel time (s) standing for "no road connection" in the integer matrices the solvers get.
UNREACHABLE = 10_000_000
#: The VROOM job id of the reception at the post (visits are numbered from 0).
RECEPTION_ID = 1_000_000
#: VROOM's exploration level and threads for a day plan (measured in ``benchmarks/bench_routes.py``).
VROOM_EXPLORATION = 3
VROOM_THREADS = 2
#: The least time one VROOM solve gets when the day's VROOM time is bounded (seconds).
_MIN_SOLVE_S = 0.02


@dataclass
class Problem:
    """A day plan as the solvers see it: the integer travel-time matrix (s), where the day
    starts, ends and holds the reception, the shift, and the visits with their locations."""

    times_s: np.ndarray  # int matrix for VROOM
    start_loc: int
    end_loc: int
    post_loc: int
    shift: Shift
    vehicle_end_s: int
    visits: list[Visit]
    loc_of: list[int]  # location index of each visit


def _solve_vroom(p: Problem, jobs: dict[int, int], *, exploration: int = VROOM_EXPLORATION,
                 threads: int = 1, deadline: float | None = None) -> dict[str, Any]:
    """Solve with VROOM. ``jobs`` maps visit index -> VROOM priority; VROOM stops at
    ``deadline`` (a `time.perf_counter` value, at least `_MIN_SOLVE_S` from now) with the
    best solution so far. Returns the solution dict."""
    import vroom  # noqa: PLC0415 - loaded on first solve (start-up time)

    inp = vroom.Input()
    inp.set_durations_matrix("car", p.times_s)
    sh = p.shift
    breaks = [vroom.Break(k + 1, time_windows=[vroom.TimeWindow(s * 60, s * 60)], service=(e - s) * 60)
              for k, (s, e) in enumerate(sh.breaks)]
    inp.add_vehicle(vroom.Vehicle(1, start=p.start_loc, end=p.end_loc,
                                  time_window=vroom.TimeWindow(sh.start_min * 60, p.vehicle_end_s),
                                  breaks=breaks))
    job_list = []
    for i, prio in jobs.items():
        v = p.visits[i]
        tws = [vroom.TimeWindow(s * 60, e * 60) for s, e in v.time_windows]
        job_list.append(vroom.Job(i, location=p.loc_of[i], default_service=int(round(v.service_min * 60)),
                                  priority=int(prio), time_windows=tws))
    if sh.reception is not None:
        rs, re_ = sh.reception
        job_list.append(vroom.Job(RECEPTION_ID, location=p.post_loc, default_service=(re_ - rs) * 60,
                                  priority=_PINNED, time_windows=[vroom.TimeWindow(rs * 60, rs * 60)]))
    if not job_list:
        return {"routes": [], "unassigned": []}
    inp.add_job(job_list)
    timeout = None if deadline is None else timedelta(seconds=max(_MIN_SOLVE_S, deadline - time.perf_counter()))
    return inp.solve(exploration_level=exploration, nb_threads=threads, timeout=timeout).to_dict()


def kept_visits(sol: dict[str, Any]) -> set[int]:
    """The visit indices a VROOM-shaped solution keeps (the reception not counted)."""
    return {int(s["id"]) for r in sol.get("routes", []) for s in r["steps"]
            if s["type"] == "job" and int(s["id"]) != RECEPTION_ID}


def _has_reception(sol: dict[str, Any]) -> bool:
    return any(s["type"] == "job" and int(s["id"]) == RECEPTION_ID
               for r in sol.get("routes", []) for s in r["steps"])


def _rule_holds(p: Problem, kept: set[int], candidates: list[int]) -> bool:
    """Strict form: every dropped candidate's class >= every kept visit's class."""
    dropped = [i for i in candidates if i not in kept]
    if not dropped or not kept:
        return True
    return min(p.visits[i].priority for i in dropped) >= max(p.visits[i].priority for i in kept)


def solve_with_priorities(p: Problem, candidates: list[int], *, exploration: int = VROOM_EXPLORATION,
                          threads: int = VROOM_THREADS, seconds: float | None = None
                          ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Solve so that no visit is dropped in favour of a lower-priority one.

    ``seconds`` bounds the VROOM solves together (each stops with its best solution so far;
    every stage gets at least `_MIN_SOLVE_S`); None leaves them unbounded.
    Returns the VROOM solution and facts about the solve (stages, time).
    """
    t0 = time.perf_counter()
    deadline = None if seconds is None else t0 + seconds
    want_reception = p.shift.reception is not None
    sol = _solve_vroom(p, {i: _CLASS_WEIGHT[p.visits[i].priority] for i in candidates}, exploration=exploration,
                       threads=threads, deadline=deadline)
    stages = 1
    kept = kept_visits(sol)
    if not _rule_holds(p, kept, candidates) or (want_reception and not _has_reception(sol)):
        # Lexicographic: class by class, pinning what earlier classes kept.
        # Classes the first solve kept in full stay pinned; staging starts at the first class
        # it cut.
        cut = min((p.visits[i].priority for i in candidates if i not in kept), default=1)
        if want_reception and not _has_reception(sol):
            cut = 1
        pinned: set[int] = {i for i in kept if p.visits[i].priority < cut}
        best: dict[str, Any] | None = None
        for cls in sorted({p.visits[i].priority for i in candidates if p.visits[i].priority >= cut}):
            new = [i for i in candidates if p.visits[i].priority == cls]
            jobs = {i: _PINNED for i in pinned}
            jobs.update({i: 1 for i in new})
            trial = _solve_vroom(p, jobs, exploration=exploration, threads=threads, deadline=deadline)
            stages += 1
            got = kept_visits(trial)
            if not (pinned <= got and (not want_reception or _has_reception(trial))):
                break  # a pinned visit was lost: this class and the later ones stay out
            best, pinned = trial, pinned | (got & set(new))
        if best is None:
            best = _solve_vroom(p, {i: _PINNED for i in pinned}, exploration=exploration, threads=threads,
                                deadline=deadline)
            stages += 1
        sol = best
        sol, extra = _repair_priorities(p, sol, candidates, exploration=exploration, threads=threads,
                                        deadline=deadline)
        stages += extra
    if want_reception and not _has_reception(sol):
        msg = "the reception at the post cannot be held: the post cannot be reached at its start"
        raise InputError(msg)
    return sol, {"engine": "vroom", "exploration": exploration, "threads": threads, "stages": stages,
                 "solve_s": round(time.perf_counter() - t0, 4)}


def _repair_priorities(p: Problem, sol: dict[str, Any], candidates: list[int], *, exploration: int,
                       threads: int, attempts: int = 6, deadline: float | None = None) -> tuple[dict[str, Any], int]:
    """Put back a dropped visit that a heuristic stage lost while less important visits stay.

    VROOM is a heuristic: a class stage can drop a visit that would fit beside the visits of
    its class and above. For each such visit (most important first) solve once more with it
    and every kept visit of its class or above pinned, the less important ones optional;
    accept when all the pinned visits are kept. Bounded by ``attempts`` solves.
    """
    tries = 0
    want_reception = p.shift.reception is not None
    while tries < attempts:
        kept = kept_visits(sol)
        if _rule_holds(p, kept, candidates):
            break
        worst_kept = max(p.visits[i].priority for i in kept)
        dropped = sorted((i for i in candidates if i not in kept and p.visits[i].priority < worst_kept),
                         key=lambda i: p.visits[i].priority)
        repaired = False
        for d in dropped:
            if tries >= attempts:
                break
            cls = p.visits[d].priority
            jobs = {i: _PINNED for i in kept if p.visits[i].priority <= cls}
            jobs[d] = _PINNED
            jobs.update({i: _CLASS_WEIGHT[p.visits[i].priority] for i in kept if p.visits[i].priority > cls})
            trial = _solve_vroom(p, jobs, exploration=exploration, threads=threads, deadline=deadline)
            tries += 1
            got = kept_visits(trial)
            if all(i in got for i, w in jobs.items() if w == _PINNED) and (not want_reception or _has_reception(trial)):
                sol, repaired = trial, True
                break
        if not repaired:
            break
    return sol, tries


__all__ = ["Problem", "solve_with_priorities", "kept_visits", "UNREACHABLE", "RECEPTION_ID",
           "VROOM_EXPLORATION", "VROOM_THREADS"]

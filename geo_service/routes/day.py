"""One day's route for a district inspector: visits, time windows, breaks, reception.

The day is a prize-collecting vehicle-routing problem with time windows for one vehicle,
solved in two steps over a travel-time matrix computed on the road graph
(`RoadGraph.matrix`, a CCH one-to-many):

1. VROOM (``pyvroom``) chooses the visits under the priority rule below: it supports several
   time windows per visit, priorities and fixed breaks natively and answers in about 0.15 s
   for 60 visits (exploration 3 on 2 threads, the measured default).
2. PyVRP's iterated local search polishes that tour with what is left of a 0.45 s budget
   (`geo_service.routes.polish.polish_tour`): when VROOM left a few visits out it first tries to
   make them all (a heuristic can miss a feasible insertion, and then the day plan would
   wrongly say "does not fit"), then shortens the tour. Its result is re-timed and checked
   and used only when it is better. Two searches run on two threads with their own seeds
   (PyVRP releases the GIL), each in a fixed number of rounds with a window-checked
   2-opt/Or-opt pass after each round (same input, same plan), cut at the budget. The VROOM
   solves are bounded by `DAY_VROOM_S` and the polish by the budget, so a day takes about
   0.46 s at most. Measured in ``benchmarks/bench_routes.py`` (five drawn days of 60 walking
   visits on Andorra and on Almaty, a third with a 90-minute window) against the best of two
   PyVRP 2 s runs: median +0.0-0.8% on Andorra and +2.0-2.8% on Almaty on a 2-core machine
   shared with other work (the polish got about one core); the old time-limited polish
   measured the same within seed noise and took up to 0.63 s. On a day with a break and the
   evening reception VROOM alone kept 45 visits, with the polish 57.

Priority rule
    Visits carry a class (1 = domestic-violence follow-up, 2 = preventive register,
    3 = appeal, 4 = patrol point; lower = more important). A visit is never dropped to
    make room for a lower-priority one: the classes are optimised lexicographically
    (first solve with class weights; when the result breaks the rule, solve class by
    class, pinning the visits kept so far, and verify each stage, falling back to the
    previous stage when a pinned visit is lost). Visits that cannot be made on their own
    (an unreachable window, no road nearby) are set aside first, with their reason, and
    do not count against the rule.

Modes
    ``walk`` and ``drive`` use their graph. ``drive_walk`` (rural precincts) clusters the
    visits by walking time (complete-linkage hierarchical clustering, every pair of a
    cluster within `geo_service.routes.network.CLUSTER_WALK_S`), parks at the medoid of
    each cluster, drives between parkings and walks within a cluster; the solver sees the
    composite matrix (`geo_service.routes.network`).

Times are minutes since midnight at the API, seconds inside.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np

from geo_service.errors import InputError
from geo_service.routes.model import (
    DayPlan,
    Leg,
    Segment,
    Shift,
    Stop,
    StopKind,
    TravelMode,
    Unassigned,
    Visit,
    hhmm,
    validate,
)
from geo_service.routes.network import Network, drive_walk_network, single_network
from geo_service.routes.polish import polish_tour
from geo_service.routes.vroom import (
    RECEPTION_ID,
    UNREACHABLE,
    VROOM_EXPLORATION,
    VROOM_THREADS,
    Problem,
    kept_visits,
    solve_with_priorities,
)

logger = logging.getLogger(__name__)


#: Default time budget of a whole day plan (matrix, VROOM, polish), seconds: the polish gets
#: what VROOM leaves of it, at least `POLISH_MIN_S`; see ``benchmarks/bench_routes.py``.
DAY_BUDGET_S = 0.45
POLISH_MIN_S = 0.1
#: The VROOM solves of a day together stop after this many seconds (a hard bound: each stops
#: with its best solution so far; about 0.15 s for 60 visits on 2 threads when idle).
DAY_VROOM_S = 0.3


# -- the day plan --------------------------------------------------------------------------------

def _lone_check(p: Problem, i: int) -> tuple[str, str] | None:
    """Why visit ``i`` cannot be made even alone, or None."""
    v = p.visits[i]
    t = p.times_s
    loc = p.loc_of[i]
    go, back = t[p.start_loc, loc], t[loc, p.end_loc]
    if go >= UNREACHABLE or back >= UNREACHABLE:
        return "unreachable", "no road connection between the visit and the start or end point"
    sh = p.shift
    earliest = sh.start_min * 60 + go
    service = v.service_min * 60
    windows = v.time_windows or [(sh.start_min, p.vehicle_end_s // 60)]
    reachable = [(s, e) for s, e in windows if earliest <= e * 60]
    if not reachable:
        w = windows[-1]
        where = "the post" if (p.start_loc == p.post_loc) else "the start point"
        return "window", (f"time window {hhmm(w[0])}-{hhmm(w[1])} cannot be reached from {where} in time "
                          f"(earliest arrival {hhmm(earliest / 60)})")
    for s, _e in reachable:
        begin = max(earliest, s * 60)
        if begin + service + back <= p.vehicle_end_s:
            return None
    s, e = reachable[0]
    return "shift", (f"{v.service_min:.0f} min on site starting at {hhmm(max(earliest, s * 60) / 60)} "
                     f"and the way back do not fit before the shift ends at {hhmm(p.vehicle_end_s / 60)}")


def _latest_starts(steps: list[dict[str, Any]], p: Problem, kinds: list[StopKind],
                   windows: list[list[tuple[int, int]]]) -> list[float]:
    """Latest start (s) of every step that keeps all later steps feasible (backward pass).

    Breaks and the reception are fixed: their latest start is their start.
    """
    n = len(steps)
    latest = [0.0] * n
    latest[-1] = float(p.vehicle_end_s)
    for k in range(n - 2, -1, -1):
        st, nxt = steps[k], steps[k + 1]
        start_k = st["arrival"] + st.get("waiting_time", 0)
        travel = nxt["arrival"] - (start_k + st.get("service", 0))  # travel before step k+1's arrival
        bound = latest[k + 1] - travel - st.get("service", 0)
        own = math.inf
        if kinds[k] in ("break", "reception", "start"):
            own = start_k
        elif windows[k]:
            own = max((e * 60 for s, e in windows[k] if s * 60 <= start_k <= e * 60), default=start_k)
        latest[k] = min(bound, own)
    return latest


def _solver_options(exploration: int | None, threads: int | None, polish_s: float | None) -> tuple[int, int]:
    """VROOM's exploration level and threads (the measured defaults for None), checked with the
    polish budget."""
    exploration = VROOM_EXPLORATION if exploration is None else int(exploration)
    threads = VROOM_THREADS if threads is None else int(threads)
    if not (1 <= exploration <= 5 and 1 <= threads <= 8):
        msg = "exploration must be 1-5 and threads 1-8"
        raise InputError(msg)
    if polish_s is not None and not (0 <= float(polish_s) <= 10):
        msg = "polish_s must be 0-10 seconds"
        raise InputError(msg)
    return exploration, threads


def _snap(city: Any, mode: str, points: tuple[tuple[float, float], ...], visits: list[Visit]
          ) -> tuple[Network, np.ndarray, np.ndarray, np.ndarray]:
    """The travel-time network of start, end, post and the visits (in that order), their
    coordinates and their snap distances to the road graph."""
    start, end, post = points
    fixed_pts = [tuple(map(float, start)), tuple(map(float, end)), tuple(map(float, post))]
    lat = np.array([p[0] for p in fixed_pts] + [v.lat for v in visits], dtype=np.float64)
    lon = np.array([p[1] for p in fixed_pts] + [v.lon for v in visits], dtype=np.float64)
    if mode == "drive_walk":
        net, snap, _ = drive_walk_network(city, lat, lon, fixed=3)
    else:
        net, snap = single_network(city, mode, lat, lon)
    return net, lat, lon, snap


def _set_aside(p: Problem, snap: np.ndarray, max_snap_m: float | None, snap_m: dict[str, float],
               warnings: list[str]) -> tuple[list[Unassigned], list[int]]:
    """Visits too far from a road or impossible even alone, with their reasons, and the
    candidates the solver gets; records each visit's snap distance in ``snap_m``."""
    visits = p.visits
    unassigned: list[Unassigned] = []
    candidates: list[int] = []
    for i, v in enumerate(visits):
        d = float(snap[3 + i])
        snap_m[v.id] = d
        if max_snap_m is not None and d > max_snap_m:
            unassigned.append(Unassigned(v.id, v.label, v.priority,
                                         f"more than {max_snap_m:.0f} m from any road (nearest {d:.0f} m)",
                                         "no_road"))
            warnings.append(f"visit {v.id} is {d:.0f} m from the nearest road")
            continue
        why = _lone_check(p, i)
        if why:
            unassigned.append(Unassigned(v.id, v.label, v.priority, why[1], why[0]))
            continue
        candidates.append(i)
    return unassigned, candidates


def _classify_left_out(visits: list[Visit], candidates: list[int], kept: set[int]) -> list[Unassigned]:
    """Why each candidate the solvers left out is not in the route (``capacity`` or ``priority``)."""
    unassigned: list[Unassigned] = []
    max_kept = max((visits[i].priority for i in kept), default=0)
    for i in candidates:
        if i in kept:
            continue
        v = visits[i]
        if any(visits[j].priority >= v.priority for j in kept):
            reason = ("does not fit in the shift together with visits of the same or higher priority "
                      "(travel, time windows, breaks)")
            code = "capacity"
        else:
            reason = "lower priority than visits that fill the shift"
            code = "priority"
        if max_kept and v.priority < max_kept:
            reason = "cannot be fitted around the higher-priority visits and fixed blocks of the day"
            code = "capacity"
        unassigned.append(Unassigned(v.id, v.label, v.priority, reason, code))
    return unassigned


def _build_stops_and_legs(sol: dict[str, Any], p: Problem, net: Network, lat: np.ndarray, lon: np.ndarray,
                          snap: np.ndarray, mode: str) -> tuple[list[Stop], list[Leg]]:
    """Stops (with arrival, start, departure and slack) and legs (with geometry) of the route."""
    shift, visits, times_s = p.shift, p.visits, p.times_s
    # Build stops, legs and slack from the route.
    steps = sol["routes"][0]["steps"] if sol.get("routes") else []
    stops: list[Stop] = []
    legs: list[Leg] = []
    kinds: list[StopKind] = []
    windows: list[list[tuple[int, int]]] = []
    loc_of_stop: list[int] = []
    if not steps:  # nothing to do: start and end only
        s0 = shift.start_min * 60
        steps = [{"type": "start", "location_index": 0, "arrival": s0, "service": 0, "waiting_time": 0},
                 {"type": "end", "location_index": 1, "arrival": s0 + int(times_s[0, 1]), "service": 0,
                  "waiting_time": 0}]
    last_loc = 0
    kind: StopKind
    for st in steps:
        typ = st["type"]
        if typ == "job" and int(st["id"]) == RECEPTION_ID:
            kind = "reception"
        elif typ == "job":
            kind = "visit"
        else:
            kind = typ
        loc = int(st["location_index"]) if "location_index" in st else last_loc
        kinds.append(kind)
        loc_of_stop.append(loc)
        windows.append(visits[int(st["id"])].time_windows if kind == "visit" else [])
        last_loc = loc
    latest = _latest_starts(steps, p, kinds, windows)
    for k, st in enumerate(steps):
        kind, loc = kinds[k], loc_of_stop[k]
        arrival = st["arrival"] / 60
        begin = (st["arrival"] + st.get("waiting_time", 0)) / 60
        dep = begin + st.get("service", 0) / 60
        slack = max(0.0, (latest[k] / 60) - begin) if kind in ("visit", "end") else 0.0
        if kind == "end":
            slack = max(0.0, p.vehicle_end_s / 60 - arrival)
        stop = Stop(kind=kind, lat=float(lat[loc]), lon=float(lon[loc]), arrival_min=arrival, start_min=begin,
                    departure_min=dep, slack_min=slack, snap_m=float(snap[loc]))
        if kind == "visit":
            v = visits[int(st["id"])]
            stop.visit_id, stop.label, stop.priority, stop.time_windows = v.id, v.label, v.priority, v.time_windows
            stop.address = v.address
        elif kind == "reception":
            stop.label = "reception at the post"
        elif kind == "break":
            stop.label = "break"
        stops.append(stop)
    prev = 0
    for k in range(1, len(stops)):
        if kinds[k] == "break":
            continue
        a, b = loc_of_stop[prev], loc_of_stop[k]
        segs = net.legs(a, b) if a != b else [Segment(mode if mode != "drive_walk" else "walk", 0.0, 0.0,
                                                       [(float(lon[a]), float(lat[a]))] * 2)]
        legs.append(Leg(from_stop=prev, to_stop=k, time_s=float(times_s[a, b]),
                        length_m=sum(s.length_m for s in segs), segments=segs))
        prev = k
    return stops, legs


def plan_day(city: Any, *, start: tuple[float, float], end: tuple[float, float] | None = None,
             visits: list[Visit], shift: Shift, mode: TravelMode = "walk",
             post: tuple[float, float] | None = None, max_snap_m: float | None = 500.0,
             exploration: int | None = None, threads: int | None = None,
             polish_s: float | None = None, seed: int = 1, vroom_s: float | None = None) -> DayPlan:
    """Plan one day's route.

    Parameters
    ----------
    city
        A loaded `CityBundle`.
    start, end
        ``(lat, lon)`` where the day starts and ends (usually the post; ``end`` defaults
        to ``start``).
    visits
        At most `MAX_VISITS`.
    shift
        Working hours, fixed breaks and the reception block at the post.
    mode
        ``walk``, ``drive`` or ``drive_walk``.
    post
        Where the reception is held (defaults to ``start``).
    max_snap_m
        Visits farther than this from any road are left out with the reason (None keeps them
        with a warning only).
    exploration, threads
        VROOM exploration level (1-5) and threads; None takes the measured defaults
        (`VROOM_EXPLORATION`, `VROOM_THREADS`, see ``benchmarks/bench_routes.py``).
    polish_s, seed
        Time budget (seconds, 0 turns it off; None gives it what is left of `DAY_BUDGET_S`,
        at least `POLISH_MIN_S`) and random seed of the PyVRP polish of VROOM's tour
        (`geo_service.routes.polish.polish_tour`).
    vroom_s
        Bound of the VROOM solves together (seconds, at most `DAY_VROOM_S`, its default): a
        schedule gives each day its share of the request's budget. Every stage still gets
        VROOM's least solve time, and the stages are few (the priority classes and at most six
        repairs).

    Raises
    ------
    InputError
        For more than 500 visits, a window that ends before it starts, an unknown mode,
        breaks outside the shift, or a reception that cannot be held.
    """
    t0 = time.perf_counter()
    end = start if end is None else end
    post = start if post is None else post
    validate(visits, shift, mode)
    exploration, threads = _solver_options(exploration, threads, polish_s)
    for name, pt in (("start", start), ("end", end), ("post", post)):
        if len(pt) != 2 or not all(math.isfinite(float(x)) for x in pt):
            msg = f"{name} must be (lat, lon)"
            raise InputError(msg)
    net, lat, lon, snap = _snap(city, mode, (start, end, post), visits)
    t_matrix = time.perf_counter() - t0
    times = net.times
    times_s = np.where(np.isfinite(times), np.rint(times), UNREACHABLE).astype(np.int64)
    warnings: list[str] = []
    snap_m = {"start": float(snap[0]), "end": float(snap[1]), "post": float(snap[2])}
    for name in ("start", "end", "post"):
        if max_snap_m is not None and snap_m[name] > max_snap_m:
            warnings.append(f"the {name} point is {snap_m[name]:.0f} m from the nearest road")
    vehicle_end = shift.end_min * 60
    if shift.reception is not None:
        rs, re_ = shift.reception
        vehicle_end = max(vehicle_end, re_ * 60 + int(times_s[2, 1]))
    p = Problem(times_s=times_s, start_loc=0, end_loc=1, post_loc=2, shift=shift, vehicle_end_s=vehicle_end,
                 visits=visits, loc_of=[3 + i for i in range(len(visits))])
    unassigned, candidates = _set_aside(p, snap, max_snap_m, snap_m, warnings)
    vroom_budget = DAY_VROOM_S if vroom_s is None else min(DAY_VROOM_S, max(0.0, float(vroom_s)))
    sol, facts = solve_with_priorities(p, candidates, exploration=exploration, threads=threads, seconds=vroom_budget)
    budget = max(POLISH_MIN_S, DAY_BUDGET_S - (time.perf_counter() - t0)) if polish_s is None else float(polish_s)
    sol, polished = polish_tour(p, sol, candidates, seconds=budget, seed=seed, threads=threads)
    facts.update(polished)
    if polished["polish"] == "improved":
        facts["engine"] = "vroom+pyvrp"
    kept = kept_visits(sol)
    unassigned += _classify_left_out(visits, candidates, kept)
    stops, legs = _build_stops_and_legs(sol, p, net, lat, lon, snap, mode)
    facts.update({"matrix_s": round(t_matrix, 4), "total_s": round(time.perf_counter() - t0, 4)})
    plan = DayPlan(mode=mode, shift=shift, stops=stops, legs=legs, unassigned=unassigned, warnings=warnings,
                   snap_m=snap_m, solver=facts)
    logger.info("day plan: %d visits kept, %d left out, mode %s, %.3f s", len(kept), len(unassigned), mode,
                facts["total_s"])
    return plan


__all__ = ["plan_day", "DAY_BUDGET_S", "POLISH_MIN_S", "DAY_VROOM_S"]

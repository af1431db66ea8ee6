"""The PyVRP polish of a day tour VROOM chose (see `geo_service.routes.day` and `geo_service.routes.vroom`).

VROOM picks the visits under the priority rule; PyVRP's iterated local search then makes the
visits VROOM missed, when it can, and shortens the tour. Everything PyVRP returns is
re-timed and checked here (`_schedule`) before it replaces VROOM's answer.
"""

from __future__ import annotations

import logging
import time
import warnings as _warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from geo_service.routes.model import PRIORITY_CLASSES
from geo_service.routes.vroom import RECEPTION_ID, UNREACHABLE, Problem, kept_visits

logger = logging.getLogger(__name__)


def _travel(p: Problem, locs: list[int]) -> int:
    return int(sum(p.times_s[a, b] for a, b in zip(locs, locs[1:])))


def _route_locs(p: Problem, sol: dict[str, Any]) -> list[int]:
    steps = sol["routes"][0]["steps"] if sol.get("routes") else []
    return [int(s["location_index"]) for s in steps if "location_index" in s] or [p.start_loc, p.end_loc]


def _schedule(p: Problem, order: list[tuple[str, int, int]]) -> list[dict[str, Any]] | None:
    """Earliest-start schedule of ``order`` (kind, id, location) as VROOM-like steps, or None
    when a window, a fixed break, the reception or the shift end cannot be kept."""
    sh = p.shift
    t = sh.start_min * 60
    here = p.start_loc
    steps: list[dict[str, Any]] = [{"type": "start", "location_index": here, "arrival": t, "service": 0,
                                    "waiting_time": 0}]
    for kind, ident, loc in order:
        t += int(p.times_s[here, loc])
        if kind == "break":
            s, e = sh.breaks[ident]
            windows, service = [(s * 60, s * 60)], (e - s) * 60
        elif kind == "reception":
            rs, re_ = sh.reception  # type: ignore[misc]
            windows, service = [(rs * 60, rs * 60)], (re_ - rs) * 60
        else:
            v = p.visits[ident]
            windows = [(s * 60, e * 60) for s, e in v.time_windows] or [(sh.start_min * 60, p.vehicle_end_s)]
            service = int(round(v.service_min * 60))
        begin = min((max(t, s) for s, e in windows if t <= e), default=None)
        if begin is None:
            return None
        step = {"type": "break" if kind == "break" else "job", "id": ident if kind != "reception" else RECEPTION_ID,
                "arrival": t, "service": service, "waiting_time": begin - t}
        if kind != "break":
            step["location_index"] = loc
        steps.append(step)
        t, here = begin + service, loc
    t += int(p.times_s[here, p.end_loc])
    if t > p.vehicle_end_s:
        return None
    steps.append({"type": "end", "location_index": p.end_loc, "arrival": t, "service": 0, "waiting_time": 0})
    return steps


def _class_counts(p: Problem, kept: set[int]) -> tuple[int, ...]:
    return tuple(sum(1 for i in kept if p.visits[i].priority == c) for c in sorted(PRIORITY_CLASSES))


def _polish_params() -> Any:
    """PyVRP's iterated local search for sub-second runs on one day: a late-acceptance
    history of 50 and up to 25 perturbations. On three draws of the benchmark day (60
    visits) a grid of histories 30-300 and perturbations 10-40 differed within seed noise;
    this setting was among the best, and the default history (300) was not better."""
    from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams  # noqa: PLC0415 - loaded on first polish (start-up time)
    from pyvrp.search import PerturbationParams  # noqa: PLC0415 - loaded on first polish (start-up time)
    from pyvrp.solve import SolveParams  # noqa: PLC0415 - loaded on first polish (start-up time)

    return SolveParams(ils=IteratedLocalSearchParams(history_length=_POLISH_HISTORY),
                       perturbation=PerturbationParams(1, 25))


_POLISH_HISTORY = 50


def _pyvrp_attempt(p: Problem, sol: dict[str, Any], required: set[int], optional: list[int], *,
                   seconds: float, seed: int, first_feasible: bool = False) -> list[tuple[str, int, int]] | None:
    """One PyVRP run: ``required`` visits must be made, ``optional`` ones earn a prize; starts
    from VROOM's tour (with the required visits VROOM left out appended). Returns the order
    as (kind, id, location) or None."""
    import pyvrp  # noqa: PLC0415 - loaded on first polish (start-up time)
    from pyvrp.stop import FirstFeasible, MaxRuntime, MultipleCriteria  # noqa: PLC0415 - loaded on first polish (start-up time)

    t0 = time.perf_counter()
    sh = p.shift
    n_loc = len(p.times_s)
    model = pyvrp.Model()
    places = [model.add_location(x=0, y=0) for _ in range(n_loc)]
    d_start = model.add_depot(places[p.start_loc])
    d_end = model.add_depot(places[p.end_loc])
    model.add_vehicle_type(num_available=1, start_depot=d_start, end_depot=d_end, tw_early=sh.start_min * 60,
                           tw_late=int(p.vehicle_end_s), start_late=sh.start_min * 60)
    meaning: list[tuple[str, int, int]] = []  # per PyVRP client: (kind, id, location)
    first_of: dict[tuple[str, int], int] = {}
    by_loc_break: dict[tuple[int, int], int] = {}

    def client(kind: str, ident: int, loc: int, tw: tuple[int, int], service: int, *, req: bool,
               prize: int = 0, group: Any = None) -> int:
        model.add_client(places[loc], service_duration=int(service), tw_early=int(tw[0]), tw_late=int(tw[1]),
                         prize=int(prize), required=req, group=group)
        meaning.append((kind, ident, loc))
        first_of.setdefault((kind, ident), len(meaning) - 1)
        return len(meaning) - 1

    # Prizes by class: a class-4 visit is worth more than any travel in the day, and each
    # class more than all visits of the classes below it together (the lexicographic rule),
    # kept as small as that allows (huge prizes drown PyVRP's time-warp penalties).
    prizes, base = {}, int(p.vehicle_end_s - sh.start_min * 60) + 1
    for c in sorted(PRIORITY_CLASSES, reverse=True):
        prizes[c] = base
        base *= len(optional) + 1
    for i in sorted(required) + list(optional):
        v, loc, req = p.visits[i], p.loc_of[i], i in required
        wins = [(s * 60, e * 60) for s, e in v.time_windows] or [(sh.start_min * 60, int(p.vehicle_end_s))]
        service = int(round(v.service_min * 60))
        prize = 0 if req else prizes[v.priority]
        if len(wins) == 1:
            client("visit", i, loc, wins[0], service, req=req, prize=prize)
        else:
            grp = model.add_client_group(required=req)
            for w in wins:
                client("visit", i, loc, w, service, req=False, prize=prize, group=grp)
    if sh.reception is not None:
        rs, re_ = sh.reception
        client("reception", 0, p.post_loc, (rs * 60, rs * 60), (re_ - rs) * 60, req=True)
    spots = sorted({p.start_loc, p.end_loc, p.post_loc, *(p.loc_of[i] for i in required),
                    *(p.loc_of[i] for i in optional)})
    for k, (s, e) in enumerate(sh.breaks):
        grp = model.add_client_group(required=True)
        for loc in spots:
            by_loc_break[k, loc] = client("break", k, loc, (s * 60, s * 60), (e - s) * 60, req=False, group=grp)
    for a in range(n_loc):
        for b in range(n_loc):
            if a != b:
                d = int(min(p.times_s[a, b], UNREACHABLE))
                model.add_edge(places[a], places[b], distance=d, duration=d)
    data = model.data()
    # VROOM's tour as the starting point (a break sits where the inspector is at the time).
    seed_route: list[int] = []
    here = p.start_loc
    n_breaks = 0
    for st in sol["routes"][0]["steps"]:
        if st["type"] == "job":
            ident = int(st["id"])
            seed_route.append(first_of["reception", 0] if ident == RECEPTION_ID else first_of["visit", ident])
            here = int(st["location_index"])
        elif st["type"] == "break":
            seed_route.append(by_loc_break[n_breaks, here])
            n_breaks += 1
    seed_route += [first_of["visit", i] for i in sorted(required - kept_visits(sol))]
    try:
        init = pyvrp.Solution(data, [pyvrp.Route(data, seed_route, 0)])
        left = max(0.02, seconds - (time.perf_counter() - t0))
        stop = MultipleCriteria([FirstFeasible(), MaxRuntime(left)]) if first_feasible else MaxRuntime(left)
        with _warnings.catch_warnings():  # "struggles to find a feasible solution": we check it ourselves
            _warnings.simplefilter("ignore")
            res = model.solve(stop=stop, display=False, seed=seed, initial_solution=init, params=_polish_params())
    except (RuntimeError, ValueError, IndexError, KeyError) as exc:  # a model PyVRP refuses
        logger.warning("tour polish attempt skipped: %s", exc)
        return None
    routes = res.best.routes()
    if not routes or not res.is_feasible():
        return None
    return [meaning[a.idx] for a in routes[0].schedule() if a.is_client()]


def polish_tour(p: Problem, sol: dict[str, Any], candidates: list[int], *, seconds: float,
                seed: int = 1, threads: int = 2) -> tuple[dict[str, Any], dict[str, Any]]:
    """Improve VROOM's tour with PyVRP's iterated local search within ``seconds``.

    VROOM chooses the visits under the priority rule; PyVRP starts from VROOM's tour. When
    VROOM left a few candidates out, the first half of the time tries to make every
    candidate (all required: a heuristic stage can miss a feasible insertion); the rest
    polishes VROOM's choice with its visits required and the left-out ones optional (prizes
    by class: one visit of a class outweighs all visits of the classes below and any travel).
    Visits are only ever added to VROOM's choice, so the polish drops nothing.
    A fixed break is a required group of copies, one at every place the inspector can be (a
    break is taken where one is, as in VROOM); a visit with several windows is a group of
    copies, one per window; the reception is a required visit at the post at its fixed time.
    Every result is re-timed and checked here (windows, breaks, reception, shift end) and
    kept only when it keeps more visits class by class, or the same visits with less travel.
    Each attempt runs on ``threads`` threads with seeds ``seed``, ``seed + 1``, ... (PyVRP
    releases the GIL) and the best tour counts.
    Returns the (possibly unchanged) solution and facts about the polish.
    """
    facts: dict[str, Any] = {"polish_s": 0.0, "polish": "skipped"}
    kept = kept_visits(sol)
    if seconds <= 0 or not kept or not sol.get("routes"):
        return sol, facts
    t0 = time.perf_counter()
    best_sol, best_key = sol, (_class_counts(p, kept), -_travel(p, _route_locs(p, sol)))
    old_travel = -best_key[1]

    def attempt(required: set[int], until: float, first_feasible: bool) -> None:
        nonlocal best_sol, best_key
        left = until - (time.perf_counter() - t0)
        if left < 0.02:
            return
        opt = [i for i in candidates if i not in required]
        start = best_sol

        def one(k: int) -> list[tuple[str, int, int]] | None:
            return _pyvrp_attempt(p, start, required, opt, seconds=left, seed=seed + k, first_feasible=first_feasible)

        # PyVRP releases the GIL while it searches: one run per thread, each with its own seed.
        if threads > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                orders = list(pool.map(one, range(threads)))
        else:
            orders = [one(0)]
        for order in orders:
            steps = _schedule(p, order) if order is not None else None
            if order is None or steps is None:
                continue
            got = {ident for kind, ident, _ in order if kind == "visit"}
            if not kept <= got:  # additions only: no visit VROOM chose under the rule is dropped
                continue
            key = (_class_counts(p, got), -_travel(p, [p.start_loc, *(loc for _, _, loc in order), p.end_loc]))
            if key > best_key:
                best_sol, best_key = {"routes": [{"steps": steps}], "unassigned": []}, key

    if 0 < len(candidates) - len(kept) <= 5:  # try to make every candidate, stop when it works
        attempt(set(candidates), seconds / 2, True)
    attempt(kept_visits(best_sol), seconds, False)  # then polish the best tour so far
    facts["polish_s"] = round(time.perf_counter() - t0, 4)
    if best_sol is sol:
        facts["polish"] = "kept VROOM's tour"
        return sol, facts
    facts.update({"polish": "improved", "polish_travel_saved_s": old_travel + best_key[1],
                  "polish_added": len(kept_visits(best_sol) - kept)})
    return best_sol, facts

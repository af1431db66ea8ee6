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

import numpy as np

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
    history of 50, up to 25 perturbations, 50 neighbours (PyVRP's default). Measured on
    ten drawn days of ``benchmarks/bench_routes.py`` at a fixed number of iterations:
    fewer perturbations (3, 8, 15) get stuck (+1.2 to +4% more travel), more (35-60) waste
    the iterations, 15-30 neighbours are faster per iteration but not better per second;
    histories 10-300 and the extra Or-opt-3 and Swap-3x operators differed within seed noise."""
    from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams  # noqa: PLC0415 - loaded on first polish (start-up time)
    from pyvrp.search import NeighbourhoodParams, PerturbationParams  # noqa: PLC0415 - loaded on first polish
    from pyvrp.solve import SolveParams  # noqa: PLC0415 - loaded on first polish (start-up time)

    return SolveParams(ils=IteratedLocalSearchParams(history_length=_POLISH_HISTORY),
                       perturbation=PerturbationParams(1, _PERTURB),
                       neighbourhood=NeighbourhoodParams(num_neighbours=_NEIGHBOURS))


_POLISH_HISTORY = 50
_PERTURB = 25
_NEIGHBOURS = 50
#: The polish runs in rounds of `_ROUND_ITERATIONS` PyVRP iterations, each followed by the
#: 2-opt/Or-opt pass, at most `_ROUNDS` per thread: a fixed amount of work (the same input
#: and seed give the same tour) that takes about 0.2 s per thread on the benchmark machine;
#: the deadline stops it earlier on a busy machine.
_ROUNDS = 6
_ROUND_ITERATIONS = 25


def _build(p: Problem, sol: dict[str, Any], required: set[int], optional: list[int]
           ) -> tuple[Any, list[int], list[tuple[str, int, int]], list[tuple[int, int, int]]]:
    """PyVRP's problem data of the day: ``required`` visits must be made, ``optional`` ones
    earn a prize; the client order of VROOM's tour (with the required visits VROOM left out
    appended) as the starting route, what each PyVRP client is (kind, id, location), and
    its window and service (earliest start, latest start, service seconds)."""
    import pyvrp  # noqa: PLC0415 - loaded on first polish (start-up time)

    sh = p.shift
    n_loc = len(p.times_s)
    model = pyvrp.Model()
    places = [model.add_location(x=0, y=0) for _ in range(n_loc)]
    d_start = model.add_depot(places[p.start_loc])
    d_end = model.add_depot(places[p.end_loc])
    model.add_vehicle_type(num_available=1, start_depot=d_start, end_depot=d_end, tw_early=sh.start_min * 60,
                           tw_late=int(p.vehicle_end_s), start_late=sh.start_min * 60)
    meaning: list[tuple[str, int, int]] = []  # per PyVRP client: (kind, id, location)
    windows: list[tuple[int, int, int]] = []  # per PyVRP client: (earliest start, latest start, service)
    first_of: dict[tuple[str, int], int] = {}
    by_loc_break: dict[tuple[int, int], int] = {}

    def client(kind: str, ident: int, loc: int, tw: tuple[int, int], service: int, *, req: bool,
               prize: int = 0, group: Any = None) -> int:
        model.add_client(places[loc], service_duration=int(service), tw_early=int(tw[0]), tw_late=int(tw[1]),
                         prize=int(prize), required=req, group=group)
        meaning.append((kind, ident, loc))
        windows.append((int(tw[0]), int(tw[1]), int(service)))
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
    return data, seed_route, meaning, windows


class Tour:
    """A client order of the PyVRP model with its travel matrix and windows, for the
    window-checked 2-opt and Or-opt pass PyVRP's operators lack (no segment reversal
    within one route): the moves' travel deltas are computed for all moves at once and
    only the improving ones are re-timed, best first."""

    def __init__(self, p: Problem, meaning: list[tuple[str, int, int]], windows: list[tuple[int, int, int]]):
        self.m = np.minimum(p.times_s, UNREACHABLE).astype(np.int64)
        self.loc = np.array([loc for _, _, loc in meaning], dtype=np.int64)
        self.windows = windows
        self.start, self.end = p.start_loc, p.end_loc
        self.t0, self.t_end = p.shift.start_min * 60, int(p.vehicle_end_s)

    def locs(self, order: list[int]) -> np.ndarray:
        return np.concatenate([[self.start], self.loc[np.asarray(order, dtype=np.int64)], [self.end]])

    def cost(self, order: list[int]) -> int | None:
        """Travel of ``order``, or None when a window or the shift end is missed."""
        m, t, here, travel = self.m, self.t0, self.start, 0
        for c in order:
            loc = self.loc[c]
            lo, hi, service = self.windows[c]
            d = int(m[here, loc])
            t, travel, here = t + d, travel + d, loc
            if t > hi:
                return None
            t = max(t, lo) + service
        d = int(m[here, self.end])
        return travel + d if t + d <= self.t_end else None

    def moves(self, order: list[int]) -> list[tuple[int, list[int]]]:
        """Improving 2-opt reversals and Or-opt moves (1-3 clients, either direction) of
        ``order`` as (travel delta, new order), before the window check."""
        s, m, n = self.locs(order), self.m, len(order)
        out: list[tuple[int, list[int]]] = []
        if n < 2:
            return out
        fwd = np.concatenate([[0], np.cumsum(m[s[:-1], s[1:]])])  # fwd[k]: travel s_0 .. s_k
        bwd = np.concatenate([[0], np.cumsum(m[s[1:], s[:-1]])])  # the same path walked back
        i, j = np.triu_indices(n + 1, 1)  # reverse positions i..j of s (1..n)
        keep = i >= 1
        i, j = i[keep], j[keep]
        delta = (m[s[i - 1], s[j]] + (bwd[j] - bwd[i]) + m[s[i], s[j + 1]]
                 - m[s[i - 1], s[i]] - (fwd[j] - fwd[i]) - m[s[j], s[j + 1]])
        for k in np.flatnonzero(delta < 0):
            a, b = int(i[k]) - 1, int(j[k])  # positions in order
            out.append((int(delta[k]), order[:a] + order[a:b][::-1] + order[b:]))
        for length in (1, 2, 3):
            for a in range(n - length + 1):  # move order[a:a+length]
                seg = order[a:a + length]
                rest = order[:a] + order[a + length:]
                r = self.locs(rest)
                f, lst = self.loc[seg[0]], self.loc[seg[-1]]
                removed = m[s[a], s[a + 1]] + m[s[a + length], s[a + length + 1]] - m[s[a], s[a + length + 1]]
                inner_f = fwd[a + length] - fwd[a + 1]
                inner_b = bwd[a + length] - bwd[a + 1]
                base = m[r[:-1], r[1:]]
                for rev, ins in ((False, m[r[:-1], f] + inner_f + m[lst, r[1:]] - base),
                                 (True, m[r[:-1], lst] + inner_b + m[f, r[1:]] - base)):
                    if rev and length == 1:
                        continue
                    d = ins - removed
                    for pos in np.flatnonzero(d < 0):
                        if pos == a and not rev:  # back where it was
                            continue
                        piece = seg[::-1] if rev else seg
                        out.append((int(d[pos]), rest[:pos] + piece + rest[pos:]))
        out.sort(key=lambda x: x[0])
        return out

    def improve(self, order: list[int], deadline: float) -> list[int]:
        """First feasible improving move, best delta first, until none is left or ``deadline``."""
        cur = self.cost(order)
        if cur is None:
            return order
        while time.perf_counter() < deadline:
            for _, new in self.moves(order):
                c = self.cost(new)
                if c is not None and c < cur:
                    order, cur = new, c
                    break
            else:
                return order
        return order


def _search(data: Any, tour: Tour, seed_route: list[int], meaning: list[tuple[str, int, int]], *, seed: int,
            deadline: float, first_feasible: bool = False) -> list[tuple[str, int, int]] | None:
    """PyVRP's iterated local search from ``seed_route`` in rounds of `_ROUND_ITERATIONS`
    iterations (at most `_ROUNDS`), each followed by the 2-opt/Or-opt pass of `Tour` and
    started from the best tour so far with its own seed; everything stops at ``deadline``
    (a `time.perf_counter` value) at the latest. Returns the best order found as (kind,
    id, location), or None."""
    import pyvrp  # noqa: PLC0415 - loaded on first polish (start-up time)
    from pyvrp.stop import FirstFeasible, MaxIterations, MaxRuntime, MultipleCriteria  # noqa: PLC0415

    def order_of(sol: Any) -> list[int]:
        routes = sol.routes()
        return [int(a.idx) for a in routes[0].schedule() if a.is_client()] if routes else []

    try:
        cost = pyvrp.CostEvaluator([0] * data.num_load_dimensions, 0, 0).cost  # inf when infeasible
        best = pyvrp.Solution(data, [pyvrp.Route(data, seed_route, 0)])
        for k in range(_ROUNDS):
            left = deadline - time.perf_counter()
            if left < 0.005:
                break
            crit: list[Any] = [MaxRuntime(left), MaxIterations(_ROUND_ITERATIONS)]
            if first_feasible:
                crit.append(FirstFeasible())
            with _warnings.catch_warnings():  # "struggles to find a feasible solution": we check it ourselves
                _warnings.simplefilter("ignore")
                res = pyvrp.solve(data, stop=MultipleCriteria(crit), seed=seed * 1009 + k, collect_stats=False,
                                  params=_polish_params(), initial_solution=best)
            cand = res.best
            if cand.is_feasible():
                better = tour.improve(order_of(cand), deadline)
                cand = pyvrp.Solution(data, [pyvrp.Route(data, better, 0)])
            if cost(cand) < cost(best):
                best = cand
            if first_feasible and best.is_feasible():
                break
    except (RuntimeError, ValueError, IndexError, KeyError) as exc:  # a model PyVRP refuses
        logger.warning("tour polish attempt skipped: %s", exc)
        return None
    if not best.routes() or not best.is_feasible():
        return None
    return [meaning[c] for c in order_of(best)]


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
    releases the GIL) and the best tour counts; a thread runs at most `_ROUNDS` rounds of
    `_ROUND_ITERATIONS` iterations, each round from the best tour so far and followed by a
    window-checked 2-opt/Or-opt pass (`Tour`), so the same input gives the same tour unless
    ``seconds`` (a hard bound) runs out first.
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
        data, seed_route, meaning, windows = _build(p, best_sol, required, opt)
        tour = Tour(p, meaning, windows)
        deadline = t0 + until

        def one(k: int) -> list[tuple[str, int, int]] | None:
            return _search(data, tour, seed_route, meaning, seed=seed + k, deadline=deadline,
                           first_feasible=first_feasible)

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

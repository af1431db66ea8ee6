"""Day routes and period schedules on Almaty (walking).

1. 60 visits around a post, a third with a 90-minute time window, 5 min on site, one
   shift: matrix + solve time of `plan_day` (VROOM, then the PyVRP polish) over a grid of
   VROOM exploration levels and threads, the default over several polish seeds, and VROOM
   alone (target <= 0.5 s), and the tour side by side with VROOM (exploration 5), PyVRP
   (2 s) and OR-Tools GLS (2 s) on the same matrix and the same 60 visits, every tour
   validated by one checker (`check`), plus a window-aware nearest-neighbour tour.
2. A 30-day schedule of 400 recurring visits (40 weekly domestic-violence follow-ups,
   250 monthly preventive-register visits, 110 one-off appeals; target <= 10 s), against
   the naive first-come assignment routed the same way (total travel, longest day, missed).

3. Five drawn days per city (Andorra, the dense modern extract, and Almaty): 60 walking
   visits around a precinct post of the bundle, a third with a 90-minute window, 5 min on
   site; `plan_day`'s default (time with the matrix and the solve alone) against the best
   of two PyVRP 2 s runs (seeds 1 and 2) on the same matrix; median gap and time per city
   (target: median gap <= 1% and <= 0.5 s per day).

Run: ``python benchmarks/bench_routes.py [--quick] [--only days|day|more|schedule]
[--cities andorra,almaty]``.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: the checkout on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import CITIES, SHARED_DATA, machine, median, need, timeit  # noqa: E402


def city_bundle(name: str = "almaty"):
    """The loaded bundle of ``name`` (andorra, almaty), built once into the temp directory."""
    from benchmarks.common import city_bundle as bundle_path
    from geo_service.bundle import load_bundle

    need(SHARED_DATA / CITIES[name])
    return load_bundle(bundle_path(name))


def around(city, post, n, limit_s, seed):
    from scipy.sparse.csgraph import dijkstra

    g = city.walk
    node, _ = g.snap_many([post[0]], [post[1]])
    reach = dijkstra(g.csr(), indices=int(node[0]), limit=limit_s)
    cand = np.flatnonzero(np.isfinite(reach))
    rng = np.random.default_rng(seed)
    return g, rng.choice(cand, n, replace=False), rng


def tour_cost(m, seq):
    return float(sum(m[a, b] for a, b in zip(seq, seq[1:])))


def check(m, seq, tw, service, horizon):
    """The one checker every tour goes through: starts and ends at the post (0), no visit
    twice, every service starts within its window (earliest-start schedule, leaving at the
    shift start), back by ``horizon``. Returns (ok, why, travel seconds, visits kept)."""
    if len(seq) < 2 or seq[0] != 0 or seq[-1] != 0:
        return False, "does not start and end at the post", math.inf, 0
    inner = seq[1:-1]
    if 0 in inner or len(set(inner)) != len(inner):
        return False, "a visit twice (or the post in the middle)", tour_cost(m, seq), len(set(inner) - {0})
    t = tw[0][0]
    for a, b in zip(seq, seq[1:]):
        t += m[a, b]
        lo, hi = tw[b]
        if t > hi + 1e-6:
            return False, f"late at {b}", tour_cost(m, seq), len(inner)
        t = max(t, lo) + service[b]
    if t > horizon + 1e-6:
        return False, "back after the shift", tour_cost(m, seq), len(inner)
    return True, "", tour_cost(m, seq), len(inner)


def solve_pyvrp(m, tw, service, horizon, seconds, seed=1):
    import pyvrp
    from pyvrp.stop import MaxRuntime

    n = len(m)
    model = pyvrp.Model()
    places = [model.add_location(x=0, y=0) for _ in range(n)]
    model.add_depot(places[0], tw_early=int(tw[0][0]), tw_late=int(horizon))
    loc_of_client = []  # PyVRP numbers clients 0.. in the order they are added
    for i in range(1, n):
        model.add_client(places[i], service_duration=int(service[i]), tw_early=int(tw[i][0]),
                         tw_late=int(tw[i][1]), required=True)
        loc_of_client.append(i)
    model.add_vehicle_type(num_available=1, tw_early=int(tw[0][0]), tw_late=int(horizon))
    for i, a in enumerate(places):
        for j, b in enumerate(places):
            if i != j:
                model.add_edge(a, b, distance=int(m[i, j]), duration=int(m[i, j]))
    res = model.solve(stop=MaxRuntime(seconds), display=False, seed=seed)
    routes = res.best.routes()
    if not routes:
        return [0, 0], False
    # A route's schedule lists depot and client activities; ``is_client`` is a method
    # (an attribute access is always true and let the depot in as client 0).
    visits = [loc_of_client[a.idx] for a in routes[0].schedule() if a.is_client()]
    return [0] + visits + [0], res.is_feasible()


def solve_ortools(m, tw, service, horizon, seconds):
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(m)
    mgr = pywrapcp.RoutingIndexManager(n, 1, 0)
    rt = pywrapcp.RoutingModel(mgr)
    mi = m.astype(np.int64)
    # Matrices evaluated in C++ (a Python callback per arc is ~50x slower and starves GLS).
    c = rt.RegisterTransitMatrix(mi.tolist())
    t = rt.RegisterTransitMatrix((mi + np.asarray(service, dtype=np.int64)[:, None]).tolist())
    rt.SetArcCostEvaluatorOfAllVehicles(c)
    rt.AddDimension(t, int(horizon), int(horizon), False, "time")
    dim = rt.GetDimensionOrDie("time")
    for i in range(1, n):
        dim.CumulVar(mgr.NodeToIndex(i)).SetRange(int(tw[i][0]), int(tw[i][1]))
        rt.AddDisjunction([mgr.NodeToIndex(i)], 10_000_000)  # kept unless impossible: reported as fewer kept
    dim.CumulVar(rt.Start(0)).SetRange(int(tw[0][0]), int(tw[0][0]))
    dim.CumulVar(rt.End(0)).SetRange(int(tw[0][0]), int(horizon))
    params = pywrapcp.DefaultRoutingSearchParameters()
    # Cheapest arc builds a path ignoring windows and strands late visits; insertion
    # heuristics respect the time dimension and give a complete first solution.
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    sol = rt.SolveWithParameters(params)
    if sol is None:
        return [0, 0], False
    seq, idx = [], rt.Start(0)
    while not rt.IsEnd(idx):
        seq.append(mgr.IndexToNode(idx))
        idx = sol.Value(rt.NextVar(idx))
    return seq + [0], True


def solve_vroom(m, tw, service, horizon, exploration, threads=1):
    import vroom

    n = len(m)
    inp = vroom.Input()
    inp.set_durations_matrix("car", m.astype(np.int64))
    inp.add_vehicle(vroom.Vehicle(1, start=0, end=0, time_window=vroom.TimeWindow(int(tw[0][0]), int(horizon))))
    inp.add_job([vroom.Job(i, location=i, default_service=int(service[i]),
                           time_windows=[vroom.TimeWindow(int(tw[i][0]), int(tw[i][1]))]) for i in range(1, n)])
    sol = inp.solve(exploration_level=exploration, nb_threads=threads).to_dict()
    steps = sol["routes"][0]["steps"] if sol.get("routes") else []
    return [int(s["location_index"]) for s in steps] or [0, 0], True


def nearest_neighbour(m, tw, service, horizon):
    """Window-aware nearest neighbour: go to the nearest visit (travel time) whose window is
    still open, that leaves time to get back, and after which every other open window can
    still be reached directly; when no visit passes the look-ahead, the one whose service
    can start soonest. Visits that can no longer be made are left out."""
    n = len(m)
    seq, left, t = [0], set(range(1, n)), float(tw[0][0])
    while left:
        here = seq[-1]
        ok, fallback = [], []
        for j in left:
            arrive = t + m[here, j]
            if arrive > tw[j][1]:
                continue
            begin = max(arrive, tw[j][0])
            done = begin + service[j]
            if done + m[j, 0] > horizon:
                continue
            fallback.append((begin, j))
            if all(done + m[j, k] <= tw[k][1] for k in left if k != j):
                ok.append((m[here, j], begin, j))
        if ok:
            _, begin, best = min(ok)
        elif fallback:
            begin, best = min(fallback)
        else:
            break
        seq.append(best)
        left.remove(best)
        t = begin + service[best]
    return seq + [0]


def day_instance(city, seed=7, post_row=5, limit_s=480):
    from geo_service.routes.model import Shift, Visit

    post = city.posts.iloc[post_row % len(city.posts)]
    p = (float(post.lat), float(post.lon))
    g, pick, rng = around(city, p, 60, limit_s, seed=seed)
    visits = []
    for k, nd in enumerate(pick):
        tw = []
        if k % 3 == 0:
            s = int(rng.integers(9 * 60, 14 * 60))
            tw = [(s, s + 90)]
        visits.append(Visit(f"v{k}", float(g.lat[nd]), float(g.lon[nd]), 5, 1 + k % 4, tw, f"visit {k}"))
    return p, g, visits, Shift(9 * 60, 19 * 60)


def checker_arrays(p, g, visits, shift):
    """The one matrix every solver and the checker use (the post first, then the visits), the
    windows, service times, the shift end, and each visit id's row."""
    lat = np.array([p[0]] + [v.lat for v in visits])
    lon = np.array([p[1]] + [v.lon for v in visits])
    nodes, _ = g.snap_many(lat, lon)
    m = np.rint(g.matrix(nodes, nodes))
    horizon = shift.end_min * 60
    tw = [(shift.start_min * 60, horizon)] + [((v.time_windows[0][0] * 60, v.time_windows[0][1] * 60)
                                               if v.time_windows else (shift.start_min * 60, horizon))
                                              for v in visits]
    service = np.array([0] + [v.service_min * 60 for v in visits])
    return m, tw, service, horizon, {v.id: k + 1 for k, v in enumerate(visits)}


def bench_day(city, quick: bool) -> None:
    import copy

    from geo_service.routes.day import plan_day

    p, g, visits, shift = day_instance(city)
    m, tw, service, horizon, index = checker_arrays(p, g, visits, shift)
    reps = 3 if quick else 5

    def run_plan(level, threads, seed=1, polish_s=None, repeat=reps):
        plans = []
        times = timeit(lambda: plans.append(plan_day(city, start=p, visits=copy.deepcopy(visits),
                                                     shift=copy.deepcopy(shift), mode="walk",
                                                     exploration=level, threads=threads, seed=seed,
                                                     polish_s=polish_s)), repeat=repeat)
        plan = plans[-1]
        seq = [0] + [index[s.visit_id] for s in plan.stops if s.kind == "visit"] + [0]
        ok, _, cost, kept = check(m, seq, tw, service, horizon)
        return plan, times, ok, cost, kept

    print(f"plan_day, 60 walking visits (20 with a 90-min window), {reps} runs each: matrix + solve")
    print(f"{'exploration':>11s} {'threads':>7s} {'median ms':>9s} {'min ms':>7s} {'stages':>6s} "
          f"{'travel min':>10s} {'kept':>4s}")
    grid = {}
    for level in (1, 2, 3, 4, 5):
        for threads in (1, 2):
            plan, times, ok, cost, kept = run_plan(level, threads)
            grid[level, threads] = (median(times), cost, kept, ok)
            print(f"{level:11d} {threads:7d} {median(times) * 1000:9.0f} {min(times) * 1000:7.0f} "
                  f"{plan.solver['stages']:6d} {cost / 60:10.1f} {kept:4d}" + ("" if ok else "  INFEASIBLE"))
    # The defaults over several polish seeds (the polish is a randomised search): the median
    # tour is the figure; VROOM alone (polish off) shows what the polish adds.
    seeds = []
    for seed in range(1, 8 if not quick else 6):
        plan, times, ok, cost, kept = run_plan(None, None, seed=seed, repeat=1)
        seeds.append((kept, cost, times[0], ok))
    seeds.sort(key=lambda r: (-r[0], r[1]))
    mid = seeds[len(seeds) // 2]
    rows = [(f"plan_day default (x{plan.solver['exploration']}, {plan.solver['threads']} thr), "
             f"median of {len(seeds)} seeds", mid[1], mid[0], median([r[2] for r in seeds]),
             all(r[3] for r in seeds), "")]
    plan, times, ok, cost, kept = run_plan(None, None, polish_s=0)
    rows.append(("plan_day, VROOM alone (polish off)", cost, kept, median(times), ok, ""))
    secs = 1.0 if quick else 2.0
    for name, fn in [("VROOM exploration 5, 1 thread", lambda: solve_vroom(m, tw, service, horizon, 5)),
                     (f"PyVRP HGS {secs:.0f} s", lambda: solve_pyvrp(m, tw, service, horizon, secs)),
                     (f"OR-Tools GLS {secs:.0f} s", lambda: solve_ortools(m, tw, service, horizon, secs)),
                     ("nearest neighbour (windows, look-ahead)",
                      lambda: (nearest_neighbour(m, tw, service, horizon), True))]:
        t0 = time.perf_counter()
        seq, solver_ok = fn()
        el = time.perf_counter() - t0
        ok, why, cost, kept = check(m, seq, tw, service, horizon)
        rows.append((name, cost, kept, el, ok and solver_ok, why))
    most = max(r[2] for r in rows if r[4])
    best = min(r[1] for r in rows[:5] if r[4] and r[2] == most)  # plan_day (both), VROOM x5, PyVRP, OR-Tools
    print(f"\nsame instance, one checker (visits once, windows, travel on one matrix); best = least travel "
          f"among feasible tours keeping the most visits ({most}):")
    print(f"{'solver':40s} {'travel min':>10s} {'kept':>4s} {'seconds':>8s} {'vs best':>8s} feasible")
    for name, cost, kept, el, ok, why in rows:
        print(f"{name:40s} {cost / 60:10.1f} {kept:4d} {el:8.2f} {cost / best:8.3f} {ok}{' ' + why if why else ''}")
    nn = rows[-1]
    print("plan_day default, every seed (kept, travel vs best, seconds): "
          + ", ".join(f"({k}, {c / best:.3f}, {t:.2f})" for k, c, t, _ in seeds))
    print(f"ratio plan_day default / nearest neighbour: travel {rows[0][1] / nn[1]:.3f} "
          f"(visits {rows[0][2]} vs {nn[2]}); target: <= 500 ms and within 1% of the best "
          f"({'met' if rows[0][3] <= 0.5 and rows[0][1] <= 1.01 * best and rows[0][2] == most else 'NOT met'})")
    # The machine is shared: compare the grid by ratios taken in this run.
    base_t = grid[5, 1][0]
    print("grid (travel vs best, visits kept, time vs exploration 5 on 1 thread): "
          + ", ".join(f"x{lv}/{th}t {c / best:.3f} ({k}) {t / base_t:.2f}"
                      for (lv, th), (t, c, k, ok) in grid.items()))


def bench_schedule(city, quick: bool) -> None:
    from geo_service.routes.model import Shift, Visit
    from geo_service.routes.schedule import RecurringVisit, schedule_period

    post = city.posts.iloc[5]
    p = (float(post.lat), float(post.lon))
    g, pick, rng = around(city, p, 400, 1500, seed=3)
    start = dt.date(2026, 12, 1)
    vs = []
    for k, nd in enumerate(pick):
        lat, lon = float(g.lat[nd]), float(g.lon[nd])
        if k < 40:  # domestic-violence follow-ups, weekly
            vs.append(RecurringVisit(Visit(f"dv{k}", lat, lon, 15, 1), every_days=7, min_gap_days=3,
                                     due=start + dt.timedelta(days=int(rng.integers(0, 7)))))
        elif k < 290:  # preventive register, once a month
            vs.append(RecurringVisit(Visit(f"pr{k}", lat, lon, 10, 2), per_month=1,
                                     due=start + dt.timedelta(days=int(rng.integers(5, 30)))))
        else:  # one-off appeals with a daytime window
            vs.append(RecurringVisit(Visit(f"ap{k}", lat, lon, 10, 3, [(600, 780)]),
                                     due=start + dt.timedelta(days=int(rng.integers(2, 20)))))
    off = [start + dt.timedelta(days=i) for i in range(30) if (start + dt.timedelta(days=i)).weekday() == 6]
    shift = Shift(9 * 60, 18 * 60, breaks=[(13 * 60, 14 * 60)], reception=(17 * 60, 18 * 60))
    res = {}
    for method in ("naive", "mip"):
        t0 = time.perf_counter()
        s = schedule_period(city, start_date=start, days=30, visits=vs, post=p, shift=shift, days_off=off,
                            method=method, reception_weekdays={1, 3}, time_limit=4.0)
        res[method] = (time.perf_counter() - t0, s)
    print(f"\n30-day schedule, 400 recurring visits (40 weekly DV, 250 monthly register, 110 one-off appeals; "
          f"{res['mip'][1].solver['occurrences']} occurrences, {res['mip'][1].solver['groups']} groups), "
          f"walking, Sundays off, reception Tue/Thu:")
    print(f"{'method':8s} {'seconds':>8s} {'travel min':>10s} {'max day work':>12s} {'max day':>8s} "
          f"{'visits':>6s} {'missed':>6s}")
    for method, (el, s) in res.items():
        t = s.totals()
        print(f"{method:8s} {el:8.2f} {t['travel_min']:10.0f} {t['max_day_work_min']:12.0f} "
              f"{t['max_day_min']:8.0f} {t['visits']:6d} {t['missed']:6d}")
    tn, tm = res["naive"][1].totals(), res["mip"][1].totals()
    print(f"mip/naive: travel {tm['travel_min'] / tn['travel_min']:.3f}, "
          f"max day work {tm['max_day_work_min'] / tn['max_day_work_min']:.3f}; "
          f"visits made {tm['visits']} vs {tn['visits']}, missed {tm['missed']} vs {tn['missed']}; "
          f"assignment solver {res['mip'][1].solver['status']}, gap {res['mip'][1].solver.get('mip_gap')}, "
          f"balancing moves {res['mip'][1].solver.get('balance_moves')}; target <= 10 s")


def bench_more_days(city, quick: bool) -> None:
    """The same kind of day drawn three times (visit seeds 7, 11, 23): plan_day's default over
    five polish seeds against the best of two PyVRP 2 s runs, one checker."""
    import copy
    import statistics

    from geo_service.routes.day import plan_day

    secs = 1.0 if quick else 2.0
    print("\nthree days of the same kind (60 walking visits, a third with windows), plan_day default "
          f"over 5 polish seeds vs the best of two PyVRP {secs:.0f} s runs:")
    print(f"{'visits seed':>11s} {'PyVRP best min':>14s} {'kept':>4s} {'ours median':>11s} {'range':>13s} {'kept':>4s} "
          f"{'median s':>8s}")
    medians = []
    for vseed in (7, 11, 23):
        p, g, visits, shift = day_instance(city, seed=vseed)
        m, tw, service, horizon, index = checker_arrays(p, g, visits, shift)
        best = best_pyvrp(m, tw, service, horizon, secs)
        ratios, kept_ours, took = [], [], []
        for seed in range(1, 6):
            t0 = time.perf_counter()
            plan = plan_day(city, start=p, visits=copy.deepcopy(visits), shift=copy.deepcopy(shift), mode="walk",
                            seed=seed)
            took.append(time.perf_counter() - t0)
            seq = [0] + [index[st.visit_id] for st in plan.stops if st.kind == "visit"] + [0]
            ok, _, cost, kept = check(m, seq, tw, service, horizon)
            ratios.append(cost / best[0] if ok else math.inf)
            kept_ours.append(kept)
        med = statistics.median(ratios)
        medians.append(med)
        print(f"{vseed:11d} {best[0] / 60:14.1f} {best[1]:4d} {med:11.3f} {min(ratios):6.3f}-{max(ratios):.3f} "
              f"{min(kept_ours):4d} {statistics.median(took):8.2f}")
    print(f"median ratio over the three days: {statistics.median(medians):.3f}  [target <= 1.01]")


def best_pyvrp(m, tw, service, horizon, secs):
    """The best feasible tour (most visits, then least travel) of two PyVRP runs (seeds 1, 2)."""
    best = None
    for sd in (1, 2):
        seq, _ = solve_pyvrp(m, tw, service, horizon, secs, seed=sd)
        ok, _, cost, kept = check(m, seq, tw, service, horizon)
        if ok and (best is None or (kept, -cost) > (best[1], -best[0])):
            best = (cost, kept)
    return best


def draw_day(city, k):
    """Day ``k`` of a city: visit seed 100 + k around post row ``3 * k`` (every draw has
    60 visits within 8 min walk; a wider reach when the post has too few nodes around)."""
    for limit in (480, 720, 1200):
        try:
            return day_instance(city, seed=100 + k, post_row=3 * k, limit_s=limit)
        except ValueError:  # fewer than 60 nodes within reach
            continue
    raise RuntimeError("no post with 60 walking nodes around")


def bench_days(name, city, quick: bool, n_days: int = 5) -> tuple[float, float]:
    """Five drawn days on one city: plan_day's default vs the best of two PyVRP runs."""
    import copy

    from geo_service.routes.day import plan_day

    secs = 1.0 if quick else 2.0
    print(f"\n{name}: {n_days} drawn days (60 walking visits around a post, a third with a 90-min window, "
          f"5 min on site), plan_day default vs the best of two PyVRP {secs:.0f} s runs, one checker:")
    print(f"{'day':>3s} {'post':>4s} {'total s':>7s} {'solve s':>7s} {'ours min':>8s} {'kept':>4s} "
          f"{'PyVRP min':>9s} {'kept':>4s} {'gap %':>6s} polish")
    gaps, totals, solves = [], [], []
    for k in range(n_days):
        p, g, visits, shift = draw_day(city, k)
        m, tw, service, horizon, index = checker_arrays(p, g, visits, shift)
        plan_day(city, start=p, visits=copy.deepcopy(visits), shift=copy.deepcopy(shift), mode="walk")  # warm
        t0 = time.perf_counter()
        plan = plan_day(city, start=p, visits=copy.deepcopy(visits), shift=copy.deepcopy(shift), mode="walk")
        total = time.perf_counter() - t0
        solve = plan.solver["total_s"] - plan.solver["matrix_s"]
        seq = [0] + [index[st.visit_id] for st in plan.stops if st.kind == "visit"] + [0]
        ok, why, cost, kept = check(m, seq, tw, service, horizon)
        best = best_pyvrp(m, tw, service, horizon, secs)
        if not ok or best is None:
            gap = math.inf
        elif kept < best[1]:
            gap = math.inf  # fewer visits than PyVRP: not comparable, counts as a miss
        else:
            gap = 100 * (cost / best[0] - 1)
        gaps.append(gap)
        totals.append(total)
        solves.append(solve)
        print(f"{k:3d} {3 * k % len(city.posts):4d} {total:7.3f} {solve:7.3f} {cost / 60:8.1f} {kept:4d} "
              f"{(best[0] / 60 if best else math.nan):9.1f} {(best[1] if best else 0):4d} {gap:+6.2f} "
              f"{plan.solver.get('polish')}" + ("" if ok else f"  INFEASIBLE: {why}"))
    med_gap, med_t = median(gaps), median(totals)
    print(f"{name}: median gap {med_gap:+.2f}% (max {max(gaps):+.2f}%), median time {med_t:.3f} s "
          f"(max {max(totals):.3f} s, solve alone median {median(solves):.3f} s); target median gap <= 1% and "
          f"<= 0.5 s per day: {'met' if med_gap <= 1.0 and max(totals) <= 0.5 else 'NOT met'}")
    return med_gap, med_t


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer runs, 1 s reference solves")
    ap.add_argument("--only", choices=("all", "days", "day", "more", "schedule"), default="all",
                    help="one section: days (five drawn days per city), day (the Almaty grid and solvers), "
                         "more (three Almaty draws over polish seeds), schedule (30 days)")
    ap.add_argument("--cities", default="andorra,almaty", help="cities of the days section (default: %(default)s)")
    args = ap.parse_args(argv)
    print(machine())
    if args.only in ("all", "days"):
        for name in args.cities.split(","):
            bench_days(name, city_bundle(name), args.quick)
    if args.only == "days":
        return
    city = city_bundle("almaty")
    if args.only in ("all", "day"):
        bench_day(city, args.quick)
    if args.only in ("all", "more"):
        bench_more_days(city, args.quick)
    if args.only in ("all", "schedule"):
        bench_schedule(city, args.quick)


if __name__ == "__main__":
    main()

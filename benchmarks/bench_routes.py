"""Day routes and period schedules on Almaty (walking).

1. 60 visits around a post, a third with a 90-minute time window, 5 min on site, one
   shift: matrix + solve time of `plan_day` (target <= 0.5 s), and the tour side by side
   with VROOM (exploration 5), PyVRP (2 s) and OR-Tools GLS (2 s) on the same matrix,
   plus a nearest-neighbour tour.
2. A 30-day schedule of 400 recurring visits (target <= 10 s), against the naive
   first-come assignment routed the same way (total travel, longest day).

Run: ``python -m benchmarks.bench_routes [--quick]``.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import SHARED_DATA, machine, median, need, timeit


def city_bundle():
    from geo_service.build import BuildOptions, build_city
    from geo_service.bundle import load_bundle

    out = Path(tempfile.gettempdir()) / "bench_routes_almaty"
    if not (out / "manifest.json").exists():
        build_city(BuildOptions(osm=need(SHARED_DATA / "almaty" / "almaty.osm.pbf"), out=out, city="almaty"))
    return load_bundle(out)


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


def feasible(m, seq, tw, service, t0):
    t = t0
    for a, b in zip(seq, seq[1:]):
        t += m[a, b]
        lo, hi = tw[b]
        if t > hi + 1e-6:
            return False
        t = max(t, lo) + service[b]
    return True


def solve_pyvrp(m, tw, service, horizon, seconds):
    import pyvrp
    from pyvrp.stop import MaxRuntime

    n = len(m)
    model = pyvrp.Model()
    places = [model.add_location(x=0, y=0) for _ in range(n)]
    model.add_depot(places[0], tw_early=tw[0][0], tw_late=horizon)
    for i in range(1, n):
        model.add_client(places[i], service_duration=int(service[i]), tw_early=int(tw[i][0]), tw_late=int(tw[i][1]))
    model.add_vehicle_type(num_available=1, tw_early=tw[0][0], tw_late=horizon)
    for i, a in enumerate(places):
        for j, b in enumerate(places):
            if i != j:
                model.add_edge(a, b, distance=int(m[i, j]), duration=int(m[i, j]))
    res = model.solve(stop=MaxRuntime(seconds), display=False, seed=1)
    route = res.best.routes()[0]
    visits = [int(a.idx) + 1 for a in route.schedule() if a.is_client]  # clients are numbered from 0
    return [0] + visits + [0], res.is_feasible()


def solve_ortools(m, tw, service, horizon, seconds):
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(m)
    mgr = pywrapcp.RoutingIndexManager(n, 1, 0)
    rt = pywrapcp.RoutingModel(mgr)
    mi = m.astype(np.int64)

    def cost(i, j):
        return int(mi[mgr.IndexToNode(i), mgr.IndexToNode(j)])

    def ttime(i, j):
        a, b = mgr.IndexToNode(i), mgr.IndexToNode(j)
        return int(service[a] + mi[a, b])

    c = rt.RegisterTransitCallback(cost)
    t = rt.RegisterTransitCallback(ttime)
    rt.SetArcCostEvaluatorOfAllVehicles(c)
    rt.AddDimension(t, horizon, horizon, False, "time")
    dim = rt.GetDimensionOrDie("time")
    for i in range(1, n):
        dim.CumulVar(mgr.NodeToIndex(i)).SetRange(int(tw[i][0]), int(tw[i][1]))
        rt.AddDisjunction([mgr.NodeToIndex(i)], 10_000_000)  # optional at a huge price: a first solution exists
    dim.CumulVar(rt.Start(0)).SetRange(int(tw[0][0]), int(tw[0][0]))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
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


def solve_vroom(m, tw, service, horizon, exploration):
    import vroom

    n = len(m)
    inp = vroom.Input()
    inp.set_durations_matrix("car", m.astype(np.int64))
    inp.add_vehicle(vroom.Vehicle(1, start=0, end=0, time_window=vroom.TimeWindow(tw[0][0], horizon)))
    inp.add_job([vroom.Job(i, location=i, default_service=int(service[i]),
                           time_windows=[vroom.TimeWindow(int(tw[i][0]), int(tw[i][1]))]) for i in range(1, n)])
    sol = inp.solve(exploration_level=exploration, nb_threads=1).to_dict()
    steps = sol["routes"][0]["steps"]
    return [int(s["location_index"]) for s in steps], not sol["unassigned"]


def nearest_neighbour(m):
    n = len(m)
    seq, left = [0], set(range(1, n))
    while left:
        nxt = min(left, key=lambda j: m[seq[-1], j])
        seq.append(nxt)
        left.remove(nxt)
    return seq + [0]


def bench_day(city, quick: bool) -> None:
    from geo_service.routing import Shift, Visit, plan_day

    post = city.posts.iloc[5]
    p = (float(post.lat), float(post.lon))
    g, pick, rng = around(city, p, 60, 480, seed=7)
    visits = []
    for k, nd in enumerate(pick):
        tw = []
        if k % 3 == 0:
            s = int(rng.integers(9 * 60, 14 * 60))
            tw = [(s, s + 90)]
        visits.append(Visit(f"v{k}", float(g.lat[nd]), float(g.lon[nd]), 5, 1 + k % 4, tw, f"visit {k}"))
    shift = Shift(9 * 60, 19 * 60)
    reps = 3 if quick else 7
    plans = []
    times = timeit(lambda: plans.append(plan_day(city, start=p, visits=visits, shift=shift, mode="walk")),
                   repeat=reps)
    plan = plans[-1]
    print(f"plan_day, 60 walking visits (20 with windows): matrix+solve median {median(times) * 1000:.0f} ms "
          f"(matrix {plan.solver['matrix_s'] * 1000:.1f} ms, solve {plan.solver['solve_s'] * 1000:.0f} ms, "
          f"stages {plan.solver['stages']}); kept {len(plan.visit_ids)}/60; target <= 500 ms")
    for level in (1, 2, 3, 4):
        ps = []
        tt = timeit(lambda: ps.append(plan_day(city, start=p, visits=visits, shift=shift, mode="walk",
                                               exploration=level)), repeat=reps)
        print(f"  plan_day exploration {level}: median {median(tt) * 1000:.0f} ms, kept {len(ps[-1].visit_ids)}, "
              f"travel {ps[-1].totals()['travel_min']:.1f} min")
    # The same problem for every solver: one matrix (post first), windows in seconds, over
    # the visits that can be made at all (plan_day leaves out the impossible ones with a reason).
    kept_ids = set(plan.visit_ids)
    visits = [v for v in visits if v.id in kept_ids]
    index = {v.id: k + 1 for k, v in enumerate(visits)}
    lat = np.array([p[0]] + [v.lat for v in visits])
    lon = np.array([p[1]] + [v.lon for v in visits])
    nodes, _ = g.snap_many(lat, lon)
    m = np.rint(g.matrix(nodes, nodes))
    horizon = shift.end_min * 60
    tw = [(shift.start_min * 60, horizon)] + [((v.time_windows[0][0] * 60, v.time_windows[0][1] * 60)
                                               if v.time_windows else (shift.start_min * 60, horizon))
                                              for v in visits]
    service = np.array([0] + [v.service_min * 60 for v in visits])
    ours = tour_cost(m, [0] + [index[s.visit_id] for s in plan.stops if s.kind == "visit"] + [0])
    rows = [("geo_service.plan_day (VROOM x5, 1 thread)", ours, median(times), True)]
    secs = 1.0 if quick else 2.0
    for name, fn in [("VROOM exploration 5", lambda: solve_vroom(m, tw, service, horizon, 5)),
                     (f"PyVRP HGS {secs:.0f} s", lambda: solve_pyvrp(m, tw, service, horizon, secs)),
                     (f"OR-Tools GLS {secs:.0f} s", lambda: solve_ortools(m, tw, service, horizon, secs))]:
        t0 = time.perf_counter()
        seq, ok = fn()
        el = time.perf_counter() - t0
        ok = ok and feasible(m, seq, tw, service, tw[0][0]) and len(set(seq)) == len(m)
        rows.append((name, tour_cost(m, seq), el, ok))
    nn = nearest_neighbour(m)
    rows.append(("nearest neighbour (ignores windows)", tour_cost(m, nn), 0.0,
                 feasible(m, nn, tw, service, tw[0][0])))
    best = min(r[1] for r in rows if r[3])
    print(f"{'solver':44s} {'travel min':>10s} {'vs best':>8s} {'seconds':>8s} feasible")
    for name, cost, el, ok in rows:
        print(f"{name:44s} {cost / 60:10.1f} {cost / best:8.3f} {el:8.2f} {ok}")
    print(f"ratio plan_day / nearest neighbour: {ours / rows[-1][1]:.3f}")


def bench_schedule(city, quick: bool) -> None:
    from geo_service.routing import Shift, Visit
    from geo_service.schedule import RecurringVisit, schedule_period

    post = city.posts.iloc[5]
    p = (float(post.lat), float(post.lon))
    g, pick, rng = around(city, p, 400, 1500, seed=3)
    start = dt.date(2026, 12, 1)
    vs = []
    for k, nd in enumerate(pick):
        lat, lon = float(g.lat[nd]), float(g.lon[nd])
        if k < 30:  # domestic-violence follow-ups, weekly
            vs.append(RecurringVisit(Visit(f"dv{k}", lat, lon, 20, 1), every_days=7, min_gap_days=3,
                                     due=start + dt.timedelta(days=int(rng.integers(0, 7)))))
        elif k < 330:  # preventive register, once a month
            vs.append(RecurringVisit(Visit(f"pr{k}", lat, lon, 10, 2), per_month=1,
                                     due=start + dt.timedelta(days=int(rng.integers(5, 30)))))
        else:  # appeals with a daytime window
            vs.append(RecurringVisit(Visit(f"ap{k}", lat, lon, 15, 3, [(600, 780)]),
                                     due=start + dt.timedelta(days=int(rng.integers(2, 20)))))
    off = [start + dt.timedelta(days=i) for i in range(30) if (start + dt.timedelta(days=i)).weekday() == 6]
    shift = Shift(9 * 60, 18 * 60, breaks=[(13 * 60, 14 * 60)], reception=(17 * 60, 18 * 60))
    res = {}
    for method in ("naive", "mip"):
        t0 = time.perf_counter()
        s = schedule_period(city, start_date=start, days=30, visits=vs, post=p, shift=shift, days_off=off,
                            method=method, reception_weekdays={1, 3}, time_limit=4.0)
        res[method] = (time.perf_counter() - t0, s)
    print(f"\n30-day schedule, 400 recurring visits ({res['mip'][1].solver['occurrences']} occurrences, "
          f"{res['mip'][1].solver['groups']} groups), walking, Sundays off:")
    print(f"{'method':8s} {'seconds':>8s} {'travel min':>10s} {'max day work':>12s} {'max day':>8s} "
          f"{'visits':>6s} {'missed':>6s}")
    for method, (el, s) in res.items():
        t = s.totals()
        print(f"{method:8s} {el:8.2f} {t['travel_min']:10.0f} {t['max_day_work_min']:12.0f} "
              f"{t['max_day_min']:8.0f} {t['visits']:6d} {t['missed']:6d}")
    tn, tm = res["naive"][1].totals(), res["mip"][1].totals()
    print(f"mip/naive: travel {tm['travel_min'] / tn['travel_min']:.3f}, "
          f"max day work {tm['max_day_work_min'] / tn['max_day_work_min']:.3f}; "
          f"assignment solver {res['mip'][1].solver['status']}, gap {res['mip'][1].solver.get('mip_gap')}; "
          f"target <= 10 s")


def main() -> None:
    quick = "--quick" in sys.argv
    print(machine())
    city = city_bundle()
    bench_day(city, quick)
    bench_schedule(city, quick)


if __name__ == "__main__":
    main()

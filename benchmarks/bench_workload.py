"""Workload indicators and balanced precincts on the Almaty extract (posts at its 40 police objects).

Run: ``python benchmarks/bench_workload.py [--bundle /tmp/b/almaty] [--repeat 3] [--spopt-timeout 180]
[--balance-only]``.

Prints the machine, then medians of:

* `workload.indicators` for every precinct, cold (a freshly loaded bundle: lookup index,
  demand estimate, two multi-source Dijkstras) and warm (cached city parts);
* `balance.balance_precincts` for the 40 posts (default method: road blocks, capacitated
  region growing + contiguity-keeping boundary moves), with the imbalance of the load per
  inspector (max/min ratio, Gini, posts within ±10%) before (the plain nearest-post network
  Voronoi) and after, the largest travel time, the blocks moved, the seconds, every start
  tried (grow, baseline, perturbed restarts) and why precincts stay below the band;
* the other methods (``voronoi``: weighted network Voronoi; ``mip``: Hess MIP with
  shortest-path-tree rows) once each;
* spopt's SKATER regionalisation on the same blocks, adjacency and load, in a child process
  bounded by ``--spopt-timeout`` (spopt does not enforce balance: its ``floor`` is a minimum
  number of blocks per region).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED_DATA, machine, median, need


def _skater_child(lat: np.ndarray, lon: np.ndarray, load: np.ndarray, adj_rows: np.ndarray, adj_cols: np.ndarray,
                  n_clusters: int, queue: mp.Queue) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import geopandas as gpd
        import scipy.sparse as sp
        from libpysal.weights import WSP
        from spopt.region import Skater

        n = len(lat)
        gdf = gpd.GeoDataFrame({"load": load}, geometry=gpd.points_from_xy(lon, lat), crs=4326)
        m = sp.csr_matrix((np.ones(len(adj_rows)), (adj_rows, adj_cols)), shape=(n, n))
        w = WSP(m).to_W(silence_warnings=True)
        t0 = time.perf_counter()
        model = Skater(gdf, w, ["load"], n_clusters=n_clusters, floor=1, trace=False, islands="increase")
        model.solve()
        queue.put({"seconds": time.perf_counter() - t0, "labels": np.asarray(model.labels_)})


def run_skater(lat, lon, load, adj, n_clusters: int, timeout: float) -> dict | None:
    ctx = mp.get_context("fork")
    queue: mp.Queue = ctx.Queue()
    coo = adj.tocoo()
    proc = ctx.Process(target=_skater_child, args=(lat, lon, load, coo.row, coo.col, n_clusters, queue))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None
    return queue.get() if not queue.empty() else None


def what_if(city, result) -> None:
    """A planning decision, not the proposal: the largest group below the band keeps its
    inspectors at only k of its posts (those nearest the residents' weighted centre)."""
    from geo_service.workload.balance import balance_precincts
    from geo_service.workload.indicators import default_demand

    groups = result.summary["after"].get("below_band_groups") or []
    if not groups:
        return
    grp = groups[0]
    by_unit = result.units.set_index("precinct_id").post_ids
    gp = {p for pid in grp["precincts"] for p in str(by_unit[pid]).split(",")}
    posts = city.posts.reset_index(drop=True)
    d = default_demand(city)
    clat, clon = np.average(d.lat, weights=d.weight), np.average(d.lon, weights=d.weight)
    mine = posts[posts.post_id.astype(str).isin(gp)].copy()
    mine["dist"] = np.hypot(mine.lat - clat, (mine.lon - clon) * np.cos(np.radians(clat)))
    total = int(round(grp["inspectors"]))
    print(f"what-if (a planning decision, not the proposal): the {total} inspectors of the group below the band "
          f"({len(grp['precincts'])} precincts) at k of its posts, nearest the residents' centre")
    for k in (2, 3, 4):
        keep = mine.nsmallest(k, "dist").post_id.astype(str).tolist()
        sub = posts[~posts.post_id.astype(str).isin(gp) | posts.post_id.astype(str).isin(keep)]
        insp = {str(p): 1 for p in sub.post_id}
        for i, p in enumerate(keep):
            insp[p] = total // k + (1 if i < total % k else 0)
        t0 = time.perf_counter()
        r = balance_precincts(city, posts=sub, inspectors_per_post=insp, polygons=False)
        a = r.summary["after"]
        print(f"  k={k}: {r.summary['precincts']} precincts, within ±10% {a['within_tolerance']}/"
              f"{r.summary['precincts']}, max/min {a['max_min_ratio']:.1f}, Gini {a['gini']:.3f}, "
              f"{time.perf_counter() - t0:.0f} s")


def threshold(pb) -> None:
    """The LP bound under the extra-travel rule, for growing rules: below which rule is
    the band proven out of reach for more precincts than with no rule at all? ``pb``: the
    block problem of a proposal made with no rule (`BalanceResult.problem`)."""
    from geo_service.workload import balance as B

    tm = pb.time_min

    def bound(rule: float | None) -> float:
        allowed = np.isfinite(tm) if rule is None else np.isfinite(tm) & (tm <= tm.min(axis=0) + rule)
        p2 = B._Problem(**{**pb.__dict__, "allowed": allowed})
        return B.balance_bound(p2, time_limit=60)

    free = bound(None)
    t0 = time.perf_counter()
    lo, hi = 0.0, 480.0
    rows = []
    while hi - lo > 10:
        mid = (lo + hi) / 2
        b = bound(mid)
        rows.append((mid, b))
        if b is not None and b > free + 1e-3:
            lo = mid
        else:
            hi = mid
    print(f"  LP bound beyond the band with no rule: {free:.3f}; under the extra-travel rule: "
          + ", ".join(f"{r:.0f} min {b:.3f}" for r, b in sorted(rows))
          + f"; more is forced below {lo:.0f}-{hi:.0f} min ({time.perf_counter() - t0:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", default="/tmp/b/almaty")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--spopt-timeout", type=float, default=180.0)
    ap.add_argument("--spopt-cell", type=float, default=250.0, help="block size (m) for the SKATER comparison")
    ap.add_argument("--balance-only", action="store_true", help="skip the other methods and spopt")
    ap.add_argument("--rules", default="none,120,30",
                    help="other extra-travel rules (minutes or 'none', comma-separated) to re-balance under, "
                         "with their bounds (the default proposal keeps 60 min)")
    ap.add_argument("--threshold", action="store_true",
                    help="find (bisection on the LP bound) the smallest extra-travel rule that no longer forces "
                         "precincts out of the band beyond what no rule forces")
    ap.add_argument("--what-if", action="store_true",
                    help="also re-balance with the largest below-band group's inspectors at 2, 3 or 4 of its posts")
    args = ap.parse_args()
    bundle = Path(args.bundle)
    if not bundle.exists():
        osm = need(SHARED_DATA / "almaty" / "almaty.osm.pbf")
        subprocess.run([sys.executable, "-m", "geo_service.cli", "build", "--osm", str(osm), "--out", str(bundle)],
                       check=True)

    from geo_service.bundle import load_bundle
    from geo_service.workload.balance import balance_precincts, build_blocks, node_load
    from geo_service.workload.indicators import WorkloadWeights, gini, indicators, max_min_ratio, summary

    print(machine())
    city = load_bundle(bundle)
    print(f"bundle {city.manifest['bundle_version']}: {len(city.posts)} posts, {len(city.precincts)} precincts, "
          f"{city.walk.n_nodes} walk nodes")

    cold = []
    for _ in range(args.repeat):
        c = load_bundle(bundle)
        t0 = time.perf_counter()
        frame = indicators(c)
        cold.append(time.perf_counter() - t0)
    warm = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        frame = indicators(c)
        warm.append(time.perf_counter() - t0)
    s = summary(frame)
    print(f"indicators, {len(frame)} precincts: cold median {median(cold):.3f} s (target <= 2 s), "
          f"warm {median(warm) * 1000:.1f} ms; workload per inspector max/min {s['max_min_ratio']:.1f}, "
          f"Gini {s['gini']:.3f}")

    times = []
    result = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = balance_precincts(city)
        times.append(time.perf_counter() - t0)
    assert result is not None
    sm = result.summary
    b, a = sm["before"], sm["after"]
    print(f"balance (grow), {sm['precincts']} precincts from {sm['posts']} posts over {sm['blocks']} blocks: "
          f"median {median(times):.1f} s (target <= 60 s); contiguous {sm['contiguous']}")
    n = sm["precincts"]
    print(f"  {'':32s} {'within ±10%':>11s} {'max/min':>8s} {'Gini':>6s} {'largest travel':>14s} "
          f"{'blocks moved':>12s} {'seconds':>8s}")
    print(f"  {'nearest post (network Voronoi)':32s} {b['within_tolerance']:>8d}/{n:<2d} "
          f"{b['max_min_ratio']:>8.1f} {b['gini']:>6.3f} {b['max_travel_min']:>10.0f} min {0:>12d} {'-':>8s}")
    print(f"  {'balanced (start: ' + str(sm['start']) + ')':32s} {a['within_tolerance']:>8d}/{n:<2d} "
          f"{a['max_min_ratio']:>8.1f} {a['gini']:>6.3f} {a['max_travel_min']:>10.0f} min "
          f"{sm['moved_blocks']:>12d} {median(times):>8.1f}")
    print("  candidates (repair + boundary moves from each start; best by within, then squared excess, "
          "then max/min, then moved):")
    for c in sm["candidates"]:
        print(f"    {c['start']:14s} within {c['within_tolerance']:>2d}/{n}, excess {c['excess']:.2f}, "
              f"max/min {c['max_min_ratio'] or float('inf'):.1f}, "
              f"moved {c['moved_blocks']}, {c['seconds']:.1f} s")
    below = [pid for pid, why in a.get("out_of_band", {}).items() if why.startswith("cannot grow")]
    for pid in below:
        print(f"  {pid} below the band: {a['out_of_band'][pid].split(';')[0]}")
    for grp in a.get("below_band_groups", []):
        reach = "not tested" if grp["reach_as_one"] is None else f"{grp['reach_as_one']:.0%}"
        print(f"  group below the band ({', '.join(grp['precincts'])}): {grp['inspectors']:g} inspectors, work for "
              f"{grp['work_for_inspectors']:.1f}; as one precinct it reaches {reach} of its target; "
              f"{grp['ways_out']} separate ways lead out of its area; short of the band by {grp['shortfall']:.2f} "
              f"targets, LP bound {grp['shortfall_bound']}")
    print(f"  beyond the band (sum over precincts, share of the target): {a['beyond_band']:.2f}; LP lower bound "
          f"{a['beyond_band_lower_bound']}; squared {a['squared_excess']:.2f}, lower bound "
          f"{a['squared_excess_lower_bound']} (both bounds {sm['timings'].get('bound_s', 0):.1f} s)")
    et = a["extra_travel"]
    print(f"  compactness: walk farther than the nearest post, median {et['median_min']} min, p90 {et['p90_min']} min, "
          f"largest {et['max_min']} min; load more than 60 min farther {et['load_share_over_60_min']:.1%}")
    if "others_level" in a:
        others = sm["precincts"] - len(a["held_back"])
        print(f"  held back (cannot reach 90% of the target or of the others' level): {len(a['held_back'])}; "
              f"the other {others} share the rest at {a['others_level']:.2f} x the city average: "
              f"{a['others_within_tolerance']}/{others} within ±10% of it, max/min {a['others_max_min_ratio']:.2f}")
    per = result.units.per_inspector_after.to_numpy()
    q = np.quantile(per, [0.1, 0.5, 0.9])
    q0 = np.quantile(result.units.per_inspector_before.to_numpy(), [0.1, 0.5, 0.9])
    print(f"  per inspector before: p10 {q0[0]:.2f}, median {q0[1]:.2f}, p90 {q0[2]:.2f}")
    print(f"  per inspector after:  p10 {q[0]:.2f}, median {q[1]:.2f}, p90 {q[2]:.2f}; "
          f"moved {sm['moved_blocks']} blocks ({sm['moved_residents']:.0f} residents)")
    rules = [None if x.strip() == "none" else float(x) for x in args.rules.split(",") if x.strip()]
    for rule in rules:
        t0 = time.perf_counter()
        r = balance_precincts(city, polygons=False, max_extra_travel_min=rule)
        a2 = r.summary["after"]
        grp = (a2.get("below_band_groups") or [{}])[0]
        et = a2["extra_travel"]
        name = "no rule" if rule is None else f"at most {rule:g} min farther than the nearest post"
        print(f"  rule: {name}: {time.perf_counter() - t0:.1f} s, "
              f"within {a2['within_tolerance']}/{n}, max/min {a2['max_min_ratio']:.1f}, Gini {a2['gini']:.3f}, "
              f"beyond the band {a2['beyond_band']:.2f} (LP bound {a2['beyond_band_lower_bound']}), squared "
              f"{a2['squared_excess']:.2f} (bound {a2['squared_excess_lower_bound']}); largest group "
              f"below: {len(grp.get('precincts', []))} precincts, short {grp.get('shortfall', 0):.2f} "
              f"(bound {grp.get('shortfall_bound')}); farther than the nearest post: p90 {et['p90_min']} min, "
              f"largest {et['max_min']} min, load over 60 min {et['load_share_over_60_min']:.1%}")
    if args.threshold:
        threshold(result.problem)
    if args.what_if:
        what_if(city, result)
    if args.balance_only:
        return
    for method in ("voronoi", "mip"):
        t0 = time.perf_counter()
        r = balance_precincts(city, method=method, polygons=False, mip_time_limit=30, local_time_limit=20)
        a2 = r.summary["after"]
        print(f"balance ({method}): {time.perf_counter() - t0:.1f} s, max/min {a2['max_min_ratio']:.1f}, "
              f"Gini {a2['gini']:.3f}, within ±10% {a2['within_tolerance']}, contiguous {r.summary['contiguous']} "
              f"({r.summary['mip_status']})")

    # spopt SKATER on the same blocks, adjacency and load.
    from geo_service.workload.balance import border_lines, cut_mask
    from geo_service.workload.indicators import default_demand

    cut = cut_mask(city.walk, border_lines(None))
    blocks = build_blocks(city, cell_m=args.spopt_cell, demand=default_demand(city), cut=cut)
    n_units = sm["precincts"]
    nl, _ = node_load(blocks, WorkloadWeights(), n_units)
    load = np.bincount(blocks.node_block, weights=nl, minlength=blocks.n)
    sk = run_skater(blocks.lat, blocks.lon, load, blocks.adjacency, n_units, args.spopt_timeout)
    if sk is None:
        print(f"spopt SKATER ({blocks.n} blocks, {n_units} regions): no answer within {args.spopt_timeout:.0f} s")
    else:
        reg = np.bincount(sk["labels"], weights=load)
        reg = reg[reg > 0]
        print(f"spopt SKATER ({blocks.n} blocks, {n_units} regions): {sk['seconds']:.1f} s, "
              f"max/min {max_min_ratio(reg):.1f}, Gini {gini(reg):.3f} (no balance constraint; regions have no post)")
    if args.spopt_cell != 250.0:
        r = balance_precincts(city, cell_m=args.spopt_cell, polygons=False)
        a3 = r.summary["after"]
        print(f"balance (grow) on the same {blocks.n} blocks: max/min {a3['max_min_ratio']:.1f}, Gini {a3['gini']:.3f}")


if __name__ == "__main__":
    main()

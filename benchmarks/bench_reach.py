"""Matrix and isochrone figures on dense modern data (Andorra 2025, Porto) and on Almaty 2012.

Run: ``python benchmarks/bench_reach.py [--city andorra --city porto ...] [--bundle DIR]``.
By default every city of ``../shared/data`` among Andorra, Porto and Almaty, each bundle built
once into the temp folder. Baselines in the same process: scipy ``dijkstra`` rows for the
matrix; for isochrones, the 25 m buffer of every reached street at full detail (the area
reference), a concave hull of the reached nodes, and a scipy Dijkstra over the whole graph
(what the windowed search replaces).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import CITIES, city_bundle, machine, median  # noqa: E402


def matrix_row(city, rng) -> str:
    from scipy.sparse.csgraph import dijkstra

    from geo_service.network.reach import travel_matrix

    g = city.walk
    pts = city.addresses[["lat", "lon"]].to_numpy()
    runs, base = [], []
    csr = g.csr()
    for _ in range(7):
        sample = pts[rng.integers(0, len(pts), 200)]
        t = time.perf_counter()
        travel_matrix(g, sample, sample)
        runs.append(time.perf_counter() - t)
        t = time.perf_counter()
        nodes, _ = g.snap_many(sample[:, 0], sample[:, 1])
        dijkstra(csr, indices=nodes)[:, nodes]
        base.append(time.perf_counter() - t)
    return (f"200x200 walking matrix incl. snapping (CCH one-to-many): median {median(runs) * 1e3:.1f} ms  "
            f"[target <= 20 ms]; scipy dijkstra rows {median(base) * 1e3:.0f} ms, "
            f"ratio {median(base) / median(runs):.0f}x")


def isochrone_rows(city, rng, minutes: float, n: int) -> list[str]:
    import shapely
    from scipy.sparse.csgraph import dijkstra

    from geo_service.network.reach import isochrone, reached_segments, undirected

    g = city.walk
    pts = city.addresses[["lat", "lon"]].to_numpy()
    csr = g.csr()
    und = undirected(g)
    times, ratios, hull_ratios, ref_times, whole, nodes = [], [], [], [], [], []
    for _ in range(n):
        lat, lon = pts[rng.integers(0, len(pts))]
        t = time.perf_counter()
        feat = isochrone(g, lat, lon, minutes)
        times.append(time.perf_counter() - t)
        nodes.append(feat["properties"]["reached_nodes"])
        snap = g.snap(lat, lon)
        t = time.perf_counter()
        d = dijkstra(csr, indices=snap.node, limit=minutes * 60)
        whole.append(time.perf_counter() - t)
        if n > 20 and len(ref_times) >= 20:
            continue  # the full-detail reference is slow on long walks: 20 of them are enough
        # Reference: the same reached street pieces buffered 25 m at full detail, unsimplified.
        t = time.perf_counter()
        _, segs, _ = reached_segments(g, lat, lon, minutes)
        ref = shapely.buffer(shapely.multilinestrings(shapely.linestrings(segs)), 25) if len(segs) else None
        ref_times.append(time.perf_counter() - t)
        reached = np.flatnonzero(np.isfinite(d))
        if ref is None or ref.area == 0 or len(reached) < 4:
            continue
        ratios.append(feat["properties"]["area_m2"] / ref.area)
        hull = shapely.concave_hull(shapely.multipoints(g.xy[reached]), ratio=0.3)
        hull_ratios.append(hull.area / ref.area)
    target = "  [target: median <= 5 ms, p90 <= 10 ms]" if minutes == 10 else ""
    return [
        f"{minutes:g}-minute walking isochrone ({median(nodes):.0f} nodes reached): median "
        f"{median(times) * 1e3:.2f} ms, p90 {np.percentile(times, 90) * 1e3:.2f} ms{target}; "
        f"full-detail street buffer {median(ref_times) * 1e3:.1f} ms (ratio {median(ref_times) / median(times):.0f}x); "
        f"whole-graph scipy Dijkstra alone {median(whole) * 1e3:.2f} ms (windowed: {und.speed:.2f} m/s radius)",
        f"  area against the full-detail buffer: median {median(ratios):.2f}, range "
        f"{min(ratios):.2f}-{max(ratios):.2f}  [target within 20%]; concave hull of reached nodes: "
        f"median {median(hull_ratios):.2f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--city", action="append", choices=sorted(CITIES), help="a city of ../shared/data (repeat)")
    parser.add_argument("--bundle", action="append", default=[], help="a built bundle folder instead (repeat)")
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args()
    from geo_service.bundle import load_bundle

    print(f"machine: {machine()}")
    bundles: list[tuple[str, Path]] = [(Path(b).name, Path(b)) for b in args.bundle]
    for name in args.city or ([] if args.bundle else list(CITIES)):
        try:
            bundles.append((name, city_bundle(name)))
        except FileNotFoundError as exc:
            print(f"{name}: skipped, {exc} is absent (the benchmark needs ../shared/data next to the checkout)")
    n = 20 if args.quick else 60
    for name, path in bundles:
        city = load_bundle(path)
        print(f"\n== {name}: {city.walk.n_edges:,} walking edges, {len(city.addresses):,} addresses")
        rng = np.random.default_rng(5)
        print(matrix_row(city, rng))
        for minutes in (5, 10, 15, 30):
            for line in isochrone_rows(city, rng, minutes, n if minutes <= 15 else n // 3):
                print(line)


if __name__ == "__main__":
    main()

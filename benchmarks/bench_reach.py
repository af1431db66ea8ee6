"""Matrix and isochrone figures on the Almaty bundle.

Run: ``python benchmarks/bench_reach.py --bundle DIR``. Baselines in the same process:
scipy ``dijkstra`` rows for the matrix; for isochrones, the 25 m buffer of every
reached street at full detail (the area reference) and a concave hull of the reached nodes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, median  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", required=True)
    args = parser.parse_args()
    import shapely
    from scipy.sparse.csgraph import dijkstra

    from geo_service.bundle import load_bundle
    from geo_service.network.reach import isochrone, reached_segments, travel_matrix, undirected

    print(f"machine: {machine()}")
    city = load_bundle(args.bundle)
    g = city.walk
    rng = np.random.default_rng(5)
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
    print(f"200x200 walking matrix incl. snapping (CCH one-to-many): median {median(runs) * 1e3:.1f} ms  "
          f"[target <= 20 ms]; scipy dijkstra rows {median(base) * 1e3:.0f} ms, "
          f"ratio {median(base) / median(runs):.0f}x")

    times, ratios, hull_ratios, ref_times = [], [], [], []
    und = undirected(g)
    for _ in range(60):
        lat, lon = pts[rng.integers(0, len(pts))]
        t = time.perf_counter()
        feat = isochrone(g, lat, lon, 10)
        times.append(time.perf_counter() - t)
        # Reference: the same reached street pieces buffered 25 m at full detail, unsimplified.
        t = time.perf_counter()
        snap, segs, _ = reached_segments(g, lat, lon, 10)
        ref = shapely.buffer(shapely.multilinestrings(shapely.linestrings(segs)), 25) if len(segs) else None
        ref_times.append(time.perf_counter() - t)
        d = dijkstra(und.csr, indices=snap.node, limit=600)
        reached = np.flatnonzero(np.isfinite(d))
        if ref is None or ref.area == 0 or len(reached) < 4:
            continue
        ratios.append(feat["properties"]["area_m2"] / ref.area)
        hull = shapely.concave_hull(shapely.multipoints(g.xy[reached]), ratio=0.3)
        hull_ratios.append(hull.area / ref.area)
    print(f"10-minute walking isochrone: median {median(times) * 1e3:.2f} ms, "
          f"p90 {np.percentile(times, 90) * 1e3:.2f} ms  [target <= 5 ms]; "
          f"full-detail street buffer {median(ref_times) * 1e3:.2f} ms "
          f"(ratio {median(ref_times) / median(times):.1f}x)")
    print(f"  area against the full-detail buffer of the reached streets : median "
          f"{median(ratios):.2f}, range {min(ratios):.2f}-{max(ratios):.2f}  [target within 20%]; "
          f"concave hull of reached nodes: median {median(hull_ratios):.2f}")


if __name__ == "__main__":
    main()

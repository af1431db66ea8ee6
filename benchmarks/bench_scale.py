"""Per-query cost against the size of the graph, on N x N tilings of a real extract.

Run: ``python benchmarks/bench_scale.py [--base almaty] [--n 1 --n 4 --n 8]``. Each tiling is
made with ``../shared/tools/tile_osm.py`` (every tile the real base extract, shifted; joined by
connector roads) and built once into the temp folder. For each size it prints the median time
of the queries a server answers, from points of the first tile (so each query reaches the same
streets whatever the size): a 10-minute walking isochrone, one walking route (snap + path +
coordinates), a 100 x 100 walking matrix, a single point lookup, and a batch of 10,000 points.
The last column is the ratio against N = 1 in the same run: per-query cost should follow what
the query touches, not the graph, so the ratios should stay near 1 while the edges grow N^2.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import CITIES, ROOT, SHARED_DATA, city_bundle, machine, median, need, timeit  # noqa: E402

TILER = ROOT.parent / "shared" / "tools" / "tile_osm.py"


def tiled_bundle(base: str, n: int) -> Path:
    """The bundle of the ``n`` x ``n`` tiling of ``base``, made and built once."""
    from geo_service.ingest.build import BuildOptions, build_city

    base_bundle = city_bundle(base)
    if n == 1:
        return base_bundle
    tmp = Path(tempfile.gettempdir())
    out = tmp / f"bench_scale_{base}_x{n}"
    if not (out / "manifest.json").exists():
        pbf = tmp / f"bench_scale_{base}_x{n}.osm.pbf"
        if not pbf.exists():
            subprocess.run([sys.executable, str(need(TILER)), str(SHARED_DATA / CITIES[base]), str(base_bundle),
                            str(n), str(pbf)], check=True)
        t = time.perf_counter()
        build_city(BuildOptions(osm=pbf, out=out, city=f"{base}{n}"))
        print(f"  built the {n}x{n} tiling in {time.perf_counter() - t:.0f} s")
    return out


def measure(path: Path, first_tile: np.ndarray, rng_seed: int = 7) -> dict[str, float]:
    """Median seconds of each query kind on the bundle at ``path``."""
    from geo_service.bundle import load_bundle
    from geo_service.lookup.service import Lookup
    from geo_service.network.reach import isochrone, travel_matrix

    city = load_bundle(path)
    g = city.walk
    lookup = Lookup(city)
    rng = np.random.default_rng(rng_seed)
    pts = first_tile[rng.integers(0, len(first_tile), 400)]
    isochrone(g, *pts[0], 10)  # warm the search structures (built once per graph)
    g.route(*pts[0], *pts[1])
    travel_matrix(g, pts[:5], pts[:5])
    lookup.locate_many(pts[:, 0], pts[:, 1])
    k = iter(range(10**9))

    def one_iso() -> None:
        i = next(k) % 200
        isochrone(g, *pts[i], 10)

    def one_route() -> None:
        i = next(k) % 200
        g.route(*pts[i], *pts[i + 200])

    def one_lookup() -> None:
        i = next(k) % 400
        lookup.locate(*pts[i])

    batch = first_tile[rng.integers(0, len(first_tile), 10_000)]
    return {
        "edges": float(g.n_edges),
        "isochrone 10 min": median(timeit(one_iso, repeat=40)),
        "route": median(timeit(one_route, repeat=100)),
        "matrix 100x100": median(timeit(lambda: travel_matrix(g, pts[:100], pts[100:200]), repeat=7)),
        "lookup, one point": median(timeit(one_lookup, repeat=400)),
        "lookup, 10k batch": median(timeit(lambda: lookup.locate_many(batch[:, 0], batch[:, 1]), repeat=7)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="almaty", choices=sorted(CITIES))
    parser.add_argument("--n", type=int, action="append", help="tiling sizes (default 1, 4, 8)")
    args = parser.parse_args()
    sizes = sorted(set(args.n or [1, 4, 8]) | {1})
    need(SHARED_DATA / CITIES[args.base])
    from geo_service.bundle import load_bundle

    print(f"machine: {machine()}")
    base = load_bundle(city_bundle(args.base))
    # Points of the first tile: the base extract's addresses and walk nodes (the tiler keeps tile 0 in place).
    first_tile = np.concatenate([base.addresses[["lat", "lon"]].to_numpy(),
                                 np.column_stack([base.walk.lat, base.walk.lon])[::50]])
    rows = {}
    for n in sizes:
        print(f"{n}x{n} tiling of {args.base} ...", flush=True)
        rows[n] = measure(tiled_bundle(args.base, n), first_tile)
    kinds = [k for k in rows[1] if k != "edges"]
    heads = [f"x{n * n} ({rows[n]['edges'] / 1e6:.2f} M edges)" for n in sizes]
    print(f"\n{'query':<20}" + "".join(f"{h:>26}" for h in heads) + f"{'ratio largest / x1':>20}")
    for kind in kinds:
        cells = "".join(f"{rows[n][kind] * 1e3:>23.3f} ms" for n in sizes)
        print(f"{kind:<20}{cells}{rows[sizes[-1]][kind] / rows[1][kind]:>20.2f}")
    edges = np.log([rows[n]["edges"] for n in sizes])
    for kind in kinds:
        slope = np.polyfit(edges, np.log([rows[n][kind] for n in sizes]), 1)[0] if len(sizes) > 1 else 0.0
        print(f"  {kind}: time ~ edges^{slope:.2f}")


if __name__ == "__main__":
    main()

"""The tile step of ``geo-service build`` alone, on a built bundle: seconds, tiles, bytes.

Run: ``python benchmarks/bench_tiles.py BUNDLE [--profile]``. It reads the bundle's graph
arrays, street names and precincts, writes ``tiles.pmtiles`` to a temporary folder with
`geo_service.ingest.tiles.write_tiles` (as the build does) and prints the time per zoom and
the archive's size; ``--profile`` prints the 25 costliest calls (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

from geo_service.ingest.tiles import write_tiles  # noqa: E402


def load(bundle: Path) -> tuple[dict, pd.DataFrame]:
    graphs = {}
    for mode in ("walk", "drive"):
        with np.load(bundle / f"graph_{mode}.npz") as npz:
            arrays = {k: npz[k] for k in npz.files if k != "mode"}
        names = json.loads((bundle / f"names_{mode}.json").read_text(encoding="utf-8"))
        graphs[mode] = (arrays, names, {})
    frame = pd.read_parquet(bundle / "precincts.parquet")
    frame["geometry"] = shapely.from_wkb(frame.pop("geometry").to_numpy())
    return graphs, frame


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    graphs, precincts = load(args.bundle)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tiles.pmtiles"
        prof = cProfile.Profile() if args.profile else None
        t, cpu = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        facts = write_tiles(out, graphs, precincts)
        if prof:
            prof.disable()
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        size = out.stat().st_size
    print(f"{args.bundle.name}: walk edges {len(graphs['walk'][0]['tail']):,}, precincts {len(precincts):,}: "
          f"tile step {wall:.1f} s ({cpu:.1f} s CPU), {sum(facts['tiles'].values()):,} tiles, "
          f"archive {size / 1e6:.2f} MB")
    print("tiles per zoom:", facts["tiles"], "seconds:", facts.get("seconds"), "load:", os.getloadavg()[0])
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()

"""A country on one machine: build, server start, shared memory and lookups on N x N tilings.

Run: ``python benchmarks/bench_country.py [--base almaty] [--n 1 --n 4 --n 8]``. Each tiling is
made with ``../shared/tools/tile_osm.py`` (as `bench_scale.py` does). For each size it prints:

- the build (``geo-service build`` in its own process): wall time and peak RSS, and its tile
  step's seconds, tile count and bytes (from the manifest);
- the server: ``geo-service serve --workers 2`` until ``/readyz`` answers, then each process's
  RSS, PSS and private memory from ``/proc/PID/smaps_rollup`` (what a second worker really
  adds is its private memory: the bundle's arrays are memory-mapped and shared);
- in-process: the bundle's load and warm-up, single point lookups (µs each) and a batch of
  1,000,000 points (points/s), over the whole extent of the tiling;
- the exponents of build time and peak memory against the walking edges (1 = linear).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_scale import TILER  # noqa: E402
from benchmarks.common import CITIES, SHARED_DATA, city_bundle, machine, need  # noqa: E402

BIN = Path(sys.executable).parent


def tiling(base: str, n: int) -> Path:
    pbf = Path(tempfile.gettempdir()) / f"bench_scale_{base}_x{n}.osm.pbf"
    if n == 1:
        return SHARED_DATA / CITIES[base]
    if not pbf.exists():
        subprocess.run([sys.executable, str(need(TILER)), str(SHARED_DATA / CITIES[base]), str(city_bundle(base)),
                        str(n), str(pbf)], check=True)
    return pbf


def build(pbf: Path, out: Path, city: str) -> tuple[float, float, float]:
    """Wall seconds, peak RSS of the build process (MB) and peak PSS of it and its children (MB).

    The build forks a process per graph for its CCH node order, running beside the precinct
    step: the machine needs the sum, which the PSS of the whole tree (shared pages counted once)
    sampled twice a second gives; ``ru_maxrss`` sees only the largest process."""
    code = ("import resource, sys, time; from geo_service.ingest.build import BuildOptions, build_city; "
            "t = time.perf_counter(); build_city(BuildOptions(osm=sys.argv[1], out=sys.argv[2], city=sys.argv[3])); "
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(pbf), str(out), city],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    tree_peak = 0.0
    while proc.poll() is None:
        total = 0.0
        with contextlib.suppress(OSError, ValueError):  # a process ended meanwhile: the next sample
            for pid in (proc.pid, *children(proc.pid)):
                total += smaps(pid).get("Pss", 0.0)
            tree_peak = max(tree_peak, total)
        time.sleep(0.5)
    stdout = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise RuntimeError(f"the build of {pbf} failed ({proc.returncode})")
    wall, rss = stdout.split()[-2:]
    return float(wall), float(rss), tree_peak


def smaps(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":", 1)
        out[key] = float(value.split()[0]) / 1024
    return out


def children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        path = task / "children"
        if path.exists():
            kids += [int(k) for k in path.read_text().split()]
    return kids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(bundle: Path) -> dict[str, object]:
    port = free_port()
    env = {**os.environ, "GEO_SERVICE_JOBS_WORKER": "none", "GEO_SERVICE_BUNDLE_POLL_SECONDS": "3600",
           "GEO_SERVICE_CONTROL_SOCKET": "none"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "geo-service"), "serve", "--bundle", str(bundle), "--port", str(port),
                             "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.perf_counter() - t0 > 900:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        ready = time.perf_counter() - t0
        for _ in range(50):  # every worker answers (a lookup)
            touch(bundle, port)
        procs = {"master": proc.pid, **{f"worker {i + 1}": p for i, p in enumerate(children(proc.pid))}}
        mem = {name: smaps(pid) for name, pid in procs.items()}
        reload_s, after = reload_by_link(bundle, proc.pid, port)
        return {"ready_s": ready, "mem": mem, "reload_s": reload_s, "mem_after_reload": after}
    finally:
        proc.terminate()
        proc.wait(30)


def touch(bundle: Path, port: int) -> None:
    """One lookup (point -> precinct -> inspector, and the walk to the post) at the extent's centre:
    what a national instance answers all day. (``/api/v1/precincts`` at country size is a 100 MB
    answer whose freed heap would stay with the worker that built it.)"""
    minlon, minlat, maxlon, maxlat = json.loads((bundle / "manifest.json").read_text())["bbox"]
    url = f"http://127.0.0.1:{port}/api/v1/lookup?lat={(minlat + maxlat) / 2:.6f}&lon={(minlon + maxlon) / 2:.6f}"
    urllib.request.urlopen(url, timeout=30).read()


def reload_by_link(bundle: Path, master: int, port: int) -> tuple[float, dict[str, dict[str, float]]]:
    """Repoint the bundle's link to a new version (a hard-linked copy: no rebuild) and SIGHUP the
    master, as a build and an operator would; (seconds until every worker is a new one answering,
    each process's memory then)."""
    real = bundle.resolve()
    copy = real.with_name(real.name + "-reload")
    shutil.rmtree(copy, ignore_errors=True)
    subprocess.run(["cp", "-al", str(real), str(copy)], check=True)
    link = bundle.with_name(bundle.name + ".relink")
    link.unlink(missing_ok=True)
    link.symlink_to(copy)
    os.replace(link, bundle)
    old = set(children(master))
    t0 = time.perf_counter()
    os.kill(master, signal.SIGHUP)
    while True:
        now = set(children(master))
        if len(now) == 2 and not now & old:
            with contextlib.suppress(OSError), urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                if r.status == 200:
                    break
        if time.perf_counter() - t0 > 900:
            raise RuntimeError("the workers were not replaced after SIGHUP")
        time.sleep(0.05)
    took = time.perf_counter() - t0
    for _ in range(50):
        touch(bundle, port)
    procs = {"master": master, **{f"worker {i + 1}": p for i, p in enumerate(children(master))}}
    return took, {name: smaps(pid) for name, pid in procs.items()}


def in_process(bundle: Path) -> dict[str, float]:
    code = r'''
import resource, sys, time, numpy as np
t = time.perf_counter()
from geo_service.bundle import load_bundle
from geo_service.lookup.service import Lookup
t_import = time.perf_counter() - t
t = time.perf_counter(); city = load_bundle(sys.argv[1]); lk = Lookup(city); t_load = time.perf_counter() - t
t = time.perf_counter(); lk.warm(); t_warm = time.perf_counter() - t
minlon, minlat, maxlon, maxlat = city.manifest["bbox"]
rng = np.random.default_rng(1)
lat, lon = rng.uniform(minlat, maxlat, 1_000_000), rng.uniform(minlon, maxlon, 1_000_000)
lk.locate_many(lat[:1000], lon[:1000])
t = time.perf_counter(); found, _ = lk.locate_many(lat, lon); t_batch = time.perf_counter() - t
single = []
for a, b in zip(lat[:2000], lon[:2000]):
    t = time.perf_counter(); lk.locate(float(a), float(b)); single.append(time.perf_counter() - t)
grid_single = []
for a, b in zip(lat[:2000], lon[:2000]):
    t = time.perf_counter(); lk.locate_many(np.array([a]), np.array([b])); grid_single.append(time.perf_counter() - t)
print(t_import, t_load, t_warm, 1e6 / t_batch, float(np.median(single)) * 1e6, float(np.median(grid_single)) * 1e6,
      float((found >= 0).mean()), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
'''
    res = subprocess.run([sys.executable, "-c", code, str(bundle)], check=True, capture_output=True, text=True)
    keys = ("import_s", "load_s", "warm_s", "batch_pts_s", "single_us", "grid_single_us", "in_precinct", "rss_mb")
    return dict(zip(keys, map(float, res.stdout.split()[-8:])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="almaty", choices=sorted(CITIES))
    ap.add_argument("--n", type=int, action="append", help="tiling sizes (default 1, 4)")
    ap.add_argument("--reuse", action="store_true", help="serve the bundles of an earlier run (no build)")
    args = ap.parse_args()
    sizes = args.n or [1, 4]
    print("## A country on one machine\n")
    print(f"- machine: {machine()}")
    print(f"- base extract: {args.base}; tilings N x N by tile_osm.py\n")
    rows = []
    for n in sizes:
        pbf = tiling(args.base, n)
        out = Path(tempfile.gettempdir()) / f"bench_country_{args.base}_x{n}"
        if args.reuse and (out / "manifest.json").exists():
            wall, rss, tree_pss = float("nan"), float("nan"), float("nan")  # not built in this run
        else:
            wall, rss, tree_pss = build(pbf, out, f"{args.base}{n}")
        manifest = json.loads((out / "manifest.json").read_text())
        server = serve(out)
        local = in_process(out)
        rows.append((n, manifest, wall, rss, server, local))
        mem = server["mem"]
        print(f"### {n} x {n}: {manifest['counts']['walk_edges']:,} walking edges, "
              f"{manifest['counts']['precincts']:,} precincts\n")
        grid_mb = manifest["lookup_grid"]["bytes"] / 2**20
        print(f"- build: {wall:.1f} s, peak RSS {rss:,.0f} MB (with the node-order processes, peak PSS "
              f"{tree_pss:,.0f} MB); lookup grid {grid_mb:.1f} MB")
        tiles = manifest.get("tiles") or {}
        if tiles:
            print(f"- base map tiles (in the build): {tiles.get('seconds', float('nan')):.1f} s, "
                  f"{sum(tiles['tiles'].values()):,} tiles, {tiles['bytes'] / 1e6:.1f} MB")
        print(f"- server ready (2 workers, /readyz 200): {server['ready_s']:.2f} s")
        for name, m in mem.items():  # type: ignore[attr-defined]
            print(f"  - {name}: RSS {m['Rss']:,.0f} MB, PSS {m['Pss']:,.0f} MB, private "
                  f"{m.get('Private_Clean', 0) + m.get('Private_Dirty', 0):,.0f} MB")
        print(f"- reload (the link repointed, SIGHUP): new workers answering after {server['reload_s']:.2f} s")
        for name, m in server["mem_after_reload"].items():  # type: ignore[attr-defined]
            print(f"  - {name}: RSS {m['Rss']:,.0f} MB, PSS {m['Pss']:,.0f} MB, private "
                  f"{m.get('Private_Clean', 0) + m.get('Private_Dirty', 0):,.0f} MB")
        print(f"- in process: import {local['import_s']:.2f} s, load {local['load_s']:.2f} s, warm "
              f"{local['warm_s']:.2f} s (RSS {local['rss_mb']:,.0f} MB); batch {local['batch_pts_s']:,.0f} points/s "
              f"({local['in_precinct']:.0%} in a precinct); single locate {local['single_us']:.1f} µs (tree), "
              f"{local['grid_single_us']:.1f} µs (grid)\n")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        grow = math.log(b[1]["counts"]["walk_edges"] / a[1]["counts"]["walk_edges"])
        print(f"- exponents against walking edges ({a[0]}x{a[0]} -> {b[0]}x{b[0]}): build time "
              f"{math.log(b[2] / a[2]) / grow:.2f}, build peak memory {math.log(b[3] / a[3]) / grow:.2f}")


if __name__ == "__main__":
    main()

"""Lookup figures on the Almaty bundle: one coordinate lookup, batches, text, HTTP.

Run: ``python benchmarks/bench_lookup.py [--bundle DIR] [--http-seconds 10]`` (builds the
Almaty bundle from ../shared/data when no bundle is given). Baselines in the same
process: a geopandas ``sjoin`` of a one-row frame (single lookups) and the same sjoin
on the whole batch.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED_DATA, machine, median, need  # noqa: E402


def _bundle(path: str | None) -> Path:
    if path:
        return Path(path)
    from geo_service.ingest.build import BuildOptions, build_city

    out = Path(tempfile.mkdtemp(prefix="bench-lookup-")) / "almaty"
    build_city(BuildOptions(osm=need(SHARED_DATA / "almaty" / "almaty.osm.pbf"), out=out, city="almaty"))
    return out


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def http_load(bundle: Path, seconds: int) -> None:
    """gunicorn (2 workers) on loopback, loaded by wrk when installed."""
    wrk = shutil.which("wrk")
    if wrk is None:
        print("http: wrk is not installed (apt-get install wrk); skipped")
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tempfile.mktemp(suffix=".log"), "wb")  # noqa: SIM115
    db = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    from geo_service.store import open_store

    store = open_store(db)
    # Limits far above what the run can reach: this measures the cost of checking them, no 429s.
    _, key = store.create_credential(name="bench", role="external_system", rate_limit="100000000/minute")
    store.close()
    env = {**os.environ, "GEO_SERVICE_RATELIMIT_PUBLIC": "100000000/minute", "GEO_SERVICE_DATABASE_URL": db}
    proc = subprocess.Popen([sys.executable, "-m", "geo_service.cli", "serve", "--bundle", str(bundle), "--port",
                             str(port), "--workers", "2"], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/readyz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        script = Path(tempfile.mktemp(suffix=".lua"))
        script.write_text(
            'math.randomseed(7)\n'
            'request = function()\n'
            '  local lat = 43.20 + math.random() * 0.10\n'
            '  local lon = 76.85 + math.random() * 0.12\n'
            '  return wrk.format("GET", "/api/v1/lookup?lat=" .. lat .. "&lon=" .. lon)\n'
            'end\n')
        for who, extra in (("anonymous (public limit checked)", []), ("with an API key (verified, per-key limit)",
                                                                         ["-H", f"X-API-Key: {key}"])):
            out = subprocess.run([wrk, "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", str(script), *extra, url],
                                 capture_output=True, text=True, check=True).stdout
            rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
            p99 = re.search(r"99%\s+([\d.]+\w+)", out)
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            errors = re.search(r"Socket errors: (.*)", out)
            print(f"http {who}: GET /api/v1/lookup?lat&lon (with travel times), gunicorn 2 workers x 4 threads, "
                  f"wrk 2 threads 32 connections {seconds} s on the same 2 cores: {rps.group(1) if rps else '?'} "
                  f"req/s, p99 {p99.group(1) if p99 else '?'}, non-2xx {non2xx.group(1) if non2xx else 0} "
                  f"(404 = points outside every precinct), socket errors: {errors.group(1) if errors else 'none'}"
                  f"  [target >= 1,000 req/s]")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle")
    parser.add_argument("--http-seconds", type=int, default=10)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    bundle = _bundle(args.bundle)

    import geopandas as gpd
    import shapely

    from geo_service.bundle import load_bundle
    from geo_service.lookup.service import Lookup

    city = load_bundle(bundle)
    t0 = time.perf_counter()
    service = Lookup(city)
    service.warm()
    print(f"lookup service build (STRtree + address index): {time.perf_counter() - t0:.3f} s")
    gc.collect()
    gc.freeze()
    rng = np.random.default_rng(11)
    minlon, minlat, maxlon, maxlat = city.manifest["bbox"]
    # Points where people are: jittered addresses and buildings.
    pts = city.addresses[["lat", "lon"]].to_numpy()
    sample = pts[rng.integers(0, len(pts), 2000)] + rng.normal(0, 3e-4, (2000, 2))

    single = []
    for lat, lon in sample:
        t = time.perf_counter()
        service.locate(lat, lon)
        single.append(time.perf_counter() - t)
    full = []
    for lat, lon in sample[:500]:
        t = time.perf_counter()
        try:  # noqa: SIM105 - try costs less than contextlib.suppress inside the timed span
            service.by_point(lat, lon, travel=False)
        except Exception:  # noqa: BLE001 - outside every precinct also counts
            pass
        full.append(time.perf_counter() - t)
    with_travel = []
    for lat, lon in sample[:500]:
        t = time.perf_counter()
        try:  # noqa: SIM105 - try costs less than contextlib.suppress inside the timed span
            service.by_point(lat, lon)
        except Exception:  # noqa: BLE001
            pass
        with_travel.append(time.perf_counter() - t)
    gdf = gpd.GeoDataFrame(city.precincts[["precinct_id"]], geometry=list(city.precincts.geometry), crs=4326)
    sj = []
    for lat, lon in sample[:200]:
        t = time.perf_counter()
        one = gpd.GeoDataFrame(geometry=[shapely.Point(lon, lat)], crs=4326)
        gpd.sjoin(one, gdf, predicate="intersects")
        sj.append(time.perf_counter() - t)
    print(f"one coordinate lookup, point-in-precinct: p50 {median(single) * 1e6:.1f} µs, "
          f"p99 {_pct(single, 99) * 1e6:.1f} µs  [target p50 <= 0.2 ms]")
    print(f"  full answer without travel times: p50 {median(full) * 1e6:.1f} µs; with walking and driving time to the "
          f"post: p50 {median(with_travel) * 1e3:.3f} ms")
    print(f"  baseline geopandas sjoin of a one-row frame: p50 {median(sj) * 1e3:.2f} ms; "
          f"ratio {median(sj) / median(single):.0f}x")

    n = 200_000
    lat = minlat + rng.random(n) * (maxlat - minlat)
    lon = minlon + rng.random(n) * (maxlon - minlon)
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        service.locate_many(lat, lon)
        runs.append(time.perf_counter() - t)
    pts_gdf = gpd.GeoDataFrame(geometry=shapely.points(lon, lat), crs=4326)
    t = time.perf_counter()
    gpd.sjoin(pts_gdf, gdf, predicate="intersects")
    sj_batch = time.perf_counter() - t
    print(f"batch by coordinates ({n:,} points, vectorised, border rule applied): "
          f"median {n / median(runs):,.0f} points/s  [target >= 500,000]; "
          f"geopandas sjoin {n / sj_batch:,.0f} points/s, ratio {sj_batch / median(runs):.1f}x")
    items = [{"id": str(k), "lat": float(lat[k]), "lon": float(lon[k])} for k in range(10_000)]
    t = time.perf_counter()
    service.batch(items)
    print(f"  a 10,000-item batch request body (core, per-item errors): {time.perf_counter() - t:.3f} s")

    texts = []
    for street, house in zip(city.addresses.street, city.addresses.housenumber):
        if street and house:
            texts.append(f"{street} {house}")
    texts = [texts[k] for k in rng.integers(0, len(texts), 500)]
    tt = []
    for text in texts:
        t = time.perf_counter()
        try:  # noqa: SIM105 - try costs less than contextlib.suppress inside the timed span
            service.by_address(text, travel=False)
        except Exception:  # noqa: BLE001
            pass
        tt.append(time.perf_counter() - t)
    print(f"one text lookup (geocode + precinct + inspector): p50 {median(tt) * 1e3:.2f} ms, "
          f"p90 {_pct(tt, 90) * 1e3:.2f} ms  [target p50 <= 5 ms]")
    http_load(bundle, args.http_seconds)
    print(json.dumps({"bundle": str(bundle)}))


if __name__ == "__main__":
    main()

"""Lookups on one instance while the jobs worker runs a balance, against the same with no job (issue 20).

Starts ``geo-service serve`` (one gunicorn worker, four threads) and one ``geo-service worker`` on a
SQLite queue and store of their own, then runs closed-loop lookups (``GET /api/v1/lookup`` at random
points of the city, ``--clients`` at once) for ``--seconds``: first with no job, then while the
worker balances the precincts (a new balance is posted whenever the last one ended). Prints
lookups per second and p50/p99 latency of each phase and the slowdown; the target is at most 10%.

Run: ``python benchmarks/bench_jobs_load.py --bundle /tmp/b/almaty [--seconds 20] [--clients 4]``
(a bundle is built from ``../shared/data/almaty/almaty.osm.pbf`` when the folder is absent).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED_DATA, machine  # noqa: E402


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, headers: dict[str, str]) -> int:
    req = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()
        return resp.status


def _post(url: str, headers: dict[str, str], body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={**headers, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _phase(base: str, headers: dict[str, str], bbox: tuple[float, float, float, float], *, seconds: float,
           clients: int) -> list[float]:
    lat0, lon0, lat1, lon1 = bbox
    stop = time.monotonic() + seconds
    times: list[float] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop:
            url = f"{base}/api/v1/lookup?lat={rng.uniform(lat0, lat1):.6f}&lon={rng.uniform(lon0, lon1):.6f}"
            t0 = time.perf_counter()
            try:
                _get(url, headers)
            except OSError:
                continue
            with lock:
                times.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def _report(name: str, times: list[float], seconds: float) -> tuple[float, float]:
    rps = len(times) / seconds
    p99 = statistics.quantiles(times, n=100)[98] * 1000 if len(times) > 100 else float("nan")
    print(f"{name:>16}: {rps:8.1f} lookups/s, p50 {statistics.median(times) * 1000:6.1f} ms, p99 {p99:6.1f} ms "
          f"({len(times)} lookups)")
    return rps, p99


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default="/tmp/b/almaty")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    bundle = Path(args.bundle)
    if not bundle.exists():
        osm = SHARED_DATA / "almaty" / "almaty.osm.pbf"
        subprocess.run([sys.executable, "-m", "geo_service.cli", "build", "--osm", str(osm), "--out", str(bundle)],
                       check=True)
    from geo_service.bundle import load_bundle
    from geo_service.store import Store

    city = load_bundle(bundle)
    lon0, lat0, lon1, lat1 = (float(v) for v in shapely.total_bounds(city.precincts.geometry.to_numpy()))
    tmp = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    db = f"sqlite:///{tmp / 'gs.db'}"
    store = Store(db)
    _, token = store.create_credential(name="bench", role="planner", kind="user_token", subject="bench",
                                       rate_limit="1000000/minute")
    headers = {"Authorization": f"Bearer {token}"}
    env = {**os.environ, "GEO_SERVICE_DATABASE_URL": db, "GEO_SERVICE_JOBS_BROKER": f"sqlite:///{tmp / 'q.db'}",
           "GEO_SERVICE_CONTROL_SOCKET": "none", "PYTHONUNBUFFERED": "1"}
    port = _port()
    base = f"http://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "geo_service.cli", cmd, "--bundle", str(bundle), *extra],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
             for cmd, extra in (("serve", ["--port", str(port), "--workers", "1"]), ("worker", []))]
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(f"{base}/readyz", {})
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.5)
        print(machine())
        print(f"bundle {city.manifest['bundle_version']}, {args.clients} clients, {args.seconds:g} s per phase")
        _phase(base, headers, (lat0, lon0, lat1, lon1), seconds=3, clients=args.clients)  # warm-up
        idle = _report("no job", _phase(base, headers, (lat0, lon0, lat1, lon1), seconds=args.seconds,
                                        clients=args.clients), args.seconds)
        busy_flag = threading.Event()

        def keep_busy() -> None:
            while not busy_flag.is_set():
                job = _post(f"{base}/api/v1/workload/balance", headers, {"wait": False})
                while not busy_flag.is_set():
                    req = urllib.request.Request(f"{base}/api/v1/jobs/{job['id']}", headers=headers)
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        if resp.status == 200:
                            break
                    time.sleep(0.5)

        feeder = threading.Thread(target=keep_busy, daemon=True)
        feeder.start()
        time.sleep(3)  # the worker is into its first balance
        busy = _report("balance running", _phase(base, headers, (lat0, lon0, lat1, lon1), seconds=args.seconds,
                                                 clients=args.clients), args.seconds)
        busy_flag.set()
        print(f"slowdown: throughput {100 * (1 - busy[0] / idle[0]):+.1f}%, p99 {100 * (busy[1] / idle[1] - 1):+.1f}% "
              "(target: at most 10%)")
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()

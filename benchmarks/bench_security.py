"""Cost of the security layer on a lookup-like endpoint: auth + rate limiting on vs off.

In-process (Flask test client) and over loopback (gunicorn, 2 workers x 4 threads, as
`geo_service.web.serve` runs it; load from ``wrk`` when installed, else a Python loop),
with a bundle reload in the middle of the loopback run (no request may fail).
Bounded: about 20 s in all.

    python benchmarks/bench_security.py [--bundle /tmp/b/almaty] [--redis]
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine  # noqa: E402

POINT = "lat=43.2389&lon=76.8897"


def _blueprint(secured: bool) -> Any:
    from flask import Blueprint, jsonify, request

    from geo_service.web.context import get_city

    bp = Blueprint("bench", __name__)

    def lookup() -> Any:
        lat, lon = float(request.args["lat"]), float(request.args["lon"])
        snap = get_city().walk.snap(lat, lon)
        return jsonify(node=int(snap.node), distance_m=round(float(snap.distance_m), 1))

    if secured:
        from geo_service.web.security import access

        bp.add_url_rule("/bench/lookup", "lookup", access("external_system")(lookup))
        bp.add_url_rule("/bench/public", "public", access("public")(lookup))
    else:
        bp.add_url_rule("/bench/lookup", "lookup", lookup)
    return bp


def build_app(mode: str, bundle: str, db_url: str, storage: str = "memory://") -> Any:
    """``off``: Flask with the city and the view only; ``on``: the service with the security layer."""
    from flask import Flask

    from geo_service.bundle import load_bundle

    city = load_bundle(bundle)
    if mode == "off":
        app = Flask("geo_service")
        app.extensions["geo_service"] = city
        app.register_blueprint(_blueprint(False))
        return app
    from geo_service import create_app

    app = create_app({"CITY": city, "BUNDLE": bundle, "DATABASE_URL": db_url, "RATELIMIT_STORAGE_URI": storage,
                      "RATELIMIT_EXTERNAL": "10000000/minute", "RATELIMIT_PUBLIC": "10000000/minute",
                      "BUNDLE_POLL_SECONDS": 1})
    app.register_blueprint(_blueprint(True))
    return app


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def in_process(app: Any, path: str, headers: dict[str, str], seconds: float) -> dict[str, float]:
    client = app.test_client()
    for _ in range(50):
        assert client.get(path, headers=headers).status_code == 200
    lat: list[float] = []
    t_end = time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < t_end:
        a = time.perf_counter()
        r = client.get(path, headers=headers)
        lat.append(time.perf_counter() - a)
        if r.status_code != 200:
            raise SystemExit(f"{path}: {r.status_code} {r.get_data(as_text=True)[:200]}")
    total = time.perf_counter() - t0
    return {"rps": len(lat) / total, "p50_ms": _pct(lat, 0.5) * 1e3, "p99_ms": _pct(lat, 0.99) * 1e3}


# -- loopback ----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(mode: str, bundle: str, db_url: str, port: int, storage: str) -> None:
    import gc
    import logging

    from geo_service.web.serve import GunicornApp

    logging.basicConfig(level=logging.WARNING)
    app = build_app(mode, bundle, db_url, storage)
    gc.collect()
    gc.freeze()
    GunicornApp(app, {"bind": f"127.0.0.1:{port}", "workers": 2, "threads": 4, "preload_app": True,
                    "worker_class": "gthread", "accesslog": None, "loglevel": "warning"}).run()


def _wait(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", f"/bench/public?{POINT}")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def _wrk(port: int, path: str, headers: dict[str, str], seconds: float) -> dict[str, float]:
    cmd = ["wrk", "-t2", "-c16", f"-d{seconds:g}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                         check=True).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    n = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "p50_ms": ms("50%"), "p99_ms": ms("99%"), "requests": n,
            "errors": (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)}


def _pyload(port: int, path: str, headers: dict[str, str], seconds: float) -> dict[str, float]:
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    t_end = time.perf_counter() + seconds

    def worker() -> None:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        while time.perf_counter() < t_end:
            a = time.perf_counter()
            try:
                c.request("GET", path, headers=headers)
                r = c.getresponse()
                r.read()
                ok = r.status == 200
            except OSError:
                ok = False
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append(time.perf_counter() - a)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            lat.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.perf_counter() - t0
    return {"rps": len(lat) / total, "p50_ms": _pct(lat, 0.5) * 1e3, "p99_ms": _pct(lat, 0.99) * 1e3,
            "requests": len(lat), "errors": errors[0]}


def loopback(mode: str, bundle: str, db_url: str, headers: dict[str, str], seconds: float,
             storage: str = "memory://", reload_token: str | None = None) -> dict[str, Any]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", mode, "--bundle", bundle, "--db", db_url,
                             "--port", str(port), "--storage", storage], stdout=subprocess.DEVNULL)
    try:
        _wait(port)
        reload_status: list[int] = []
        if reload_token:
            def do_reload() -> None:
                time.sleep(seconds / 2)
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("POST", "/admin/reload", body=json.dumps({"bundle": bundle}),
                          headers={"Authorization": f"Bearer {reload_token}", "Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                reload_status.append(r.status)

            threading.Thread(target=do_reload, daemon=True).start()
        load = _wrk if shutil.which("wrk") else _pyload
        res = load(port, f"/bench/lookup?{POINT}", headers, seconds)
        res["tool"] = "wrk -t2 -c16" if load is _wrk else "python 8 threads"
        if reload_token:
            time.sleep(0.5)
            res["reload"] = reload_status[0] if reload_status else None
        return res
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", default="/tmp/b/almaty")
    ap.add_argument("--redis", action="store_true", help="also measure Redis rate-limit storage")
    ap.add_argument("--serve")
    ap.add_argument("--db")
    ap.add_argument("--port", type=int)
    ap.add_argument("--storage", default="memory://")
    args = ap.parse_args()
    if args.serve:
        _serve(args.serve, args.bundle, args.db, args.port, args.storage)
        return
    if not Path(args.bundle).is_dir():
        sys.exit(f"{args.bundle} is absent: build one with `python -m geo_service.cli build ... --out {args.bundle}`")
    print(machine())
    tmp = tempfile.mkdtemp(prefix="bench-sec-")
    db = f"sqlite:///{tmp}/gs.db"
    from geo_service.store import Store

    st = Store(db)
    _, key = st.create_credential(name="bench", role="external_system")
    _, admin = st.create_credential(name="bench-admin", role="admin", kind="user_token")
    st.close()
    path = f"/bench/lookup?{POINT}"
    rows: list[tuple[str, dict[str, Any]]] = []
    off = build_app("off", args.bundle, db)
    on = build_app("on", args.bundle, db)
    rows.append(("in-process  off (no auth, no limits)", in_process(off, path, {}, 1.0)))
    rows.append(("in-process  on  API key + limit (memory)", in_process(on, path, {"X-API-Key": key}, 1.0)))
    rows.append(("in-process  on  public + limit (memory)",
                 in_process(on, f"/bench/public?{POINT}", {}, 1.0)))
    if args.redis:
        on_r = build_app("on", args.bundle, db, "redis://127.0.0.1:6379")
        rows.append(("in-process  on  API key + limit (redis)", in_process(on_r, path, {"X-API-Key": key}, 1.0)))
    base = rows[0][1]["rps"]
    print(f"{'configuration':44s} {'req/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} {'vs off':>6s}")
    for name, r in rows:
        print(f"{name:44s} {r['rps']:8.0f} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f} {r['rps'] / base:6.2f}")
    lb_off = loopback("off", args.bundle, db, {}, 3)
    lb_on = loopback("on", args.bundle, db, {"X-API-Key": key}, 4, reload_token=admin)
    print(f"loopback, gunicorn 2 workers x 4 threads, load: {lb_off['tool']} (same 2 cores)")
    for name, r in (("loopback    off", lb_off), ("loopback    on  API key + limit + reload mid-run", lb_on)):
        extra = f"  errors {r['errors']} of {r['requests']}" + (f", reload HTTP {r['reload']}" if "reload" in r else "")
        print(f"{name:44s} {r['rps']:8.0f} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f} "
              f"{r['rps'] / lb_off['rps']:6.2f}{extra}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""A reload under ``geo-service serve`` happens in the gunicorn master: it loads and warms the new
bundle once and forks new workers that share it (the old workers stop), instead of each worker
building its own snapping trees and CCHs. SQLite store, no broker: runs on a bare machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import TWO_PRECINCTS
from tests.web.test_jobs_redis import free_port, http, wait_for


def _workers(master: int) -> set[int]:
    kids: set[int] = set()
    for task in Path(f"/proc/{master}/task").iterdir():
        kids |= {int(k) for k in (task / "children").read_text().split()}
    return kids


def test_reload_forks_workers_that_share_the_masters_new_city(tmp_path: Path, built_tiny: Path, tiny_osm: Path,
                                                               write_precincts, write_roster) -> None:
    from geo_service.ingest.build import BuildOptions, build_city
    from geo_service.store import Store

    second = tmp_path / "second"
    build_city(BuildOptions(osm=tiny_osm, out=second, precincts=write_precincts(TWO_PRECINCTS),
                            roster=write_roster(), city="tiny-second"))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    _, token = store.create_credential(name="admin", role="admin", kind="user_token", subject="adm")
    store.close()
    admin = {"Authorization": f"Bearer {token}"}
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "GEO_SERVICE_DATABASE_URL": url, "GEO_SERVICE_JOBS_WORKER": "none",
           "GEO_SERVICE_BUNDLE_POLL_SECONDS": "1", "GEO_SERVICE_CONTROL_SOCKET": "none",
           "GEO_SERVICE_BUNDLE_ROOT": str(tmp_path.parent), "XDG_RUNTIME_DIR": str(tmp_path)}
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "geo_service.cli", "serve", "--bundle", str(built_tiny),
                                 "--port", str(port), "--workers", "2"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http("GET", f"{base}/readyz", {})[0] == 200, 90, "the server did not start")
        wait_for(lambda: len(_workers(proc.pid)) == 2, 30, "two workers")
        before = _workers(proc.pid)
        code, answer = http("POST", f"{base}/admin/reload", admin, {"bundle": str(second)})
        assert code == 200 and answer["current"]["city"] == "tiny-second", answer
        version = answer["current"]["bundle_version"]

        def replaced() -> bool:  # two workers, none of the old ones, every answer the new bundle
            now = _workers(proc.pid)
            return (len(now) == 2 and not now & before
                    and all(http("GET", f"{base}/readyz", {})[1].get("bundle_version") == version for _ in range(8)))

        wait_for(replaced, 30, log_path.read_text(errors="replace")[-3000:])
        text = log_path.read_text(errors="replace")
        assert "loaded and warmed; new workers fork with it" in text, text[-3000:]
        # A second SIGHUP with nothing new changes nothing: the workers stay.
        after = _workers(proc.pid)
        os.kill(proc.pid, signal.SIGHUP)
        wait_for(lambda: "the bundle in service is loaded already" in log_path.read_text(errors="replace"), 20,
                 "the master did not answer the second SIGHUP")
        time.sleep(0.5)
        assert _workers(proc.pid) == after
        assert http("GET", f"{base}/readyz", {})[1].get("bundle_version") == version
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

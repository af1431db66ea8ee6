"""``geo-service serve`` with no broker (issue 20): it forks one jobs worker on the SQLite queue
beside the store, so the demo's two commands run every job; the worker dies with the server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from geo_service.store import Store
from tests.web.test_jobs_redis import free_port, http, wait_for


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_serve_without_a_broker_runs_jobs_in_its_own_worker_process(built_tiny: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'gs.db'}"
    _, token = Store(db).create_credential(name="p", role="planner", kind="user_token", subject="pl")
    headers = {"Authorization": f"Bearer {token}"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_SERVICE_")}
    env.update({"PYTHONUNBUFFERED": "1", "GEO_SERVICE_DATABASE_URL": db, "GEO_SERVICE_CONTROL_SOCKET": "none"})
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "geo_service.cli", "serve", "--bundle", str(built_tiny),
                             "--port", str(port), "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    try:
        wait_for(lambda: http("GET", f"http://127.0.0.1:{port}/readyz", {})[0] == 200, 60,
                 (tmp_path / "serve.log").read_text(errors="replace"))
        code, job = http("POST", f"http://127.0.0.1:{port}/api/v1/workload/balance", headers,
                         {"tolerance": 0.2, "wait": False})
        assert code == 202, job
        done = wait_for(lambda: (r := http("GET", f"http://127.0.0.1:{port}/api/v1/jobs/{job['id']}", headers))[0]
                        == 200 and r[1], 60, (tmp_path / "serve.log").read_text(errors="replace"))
        assert done["status"] == "done" and done["result"]["summary"]["contiguous"] is True
        assert (tmp_path / "gs-jobs.db").exists()  # the queue file beside the store
        text = (tmp_path / "serve.log").read_text(errors="replace")
        assert "embedded worker (pid" in text
        worker = int(text.split("embedded worker (pid ")[1].split(")")[0])
        assert worker in _children(proc.pid) and _alive(worker)
        # a waited balance answers in the request, done by the worker process
        code, waited = http("POST", f"http://127.0.0.1:{port}/api/v1/workload/balance", headers, {"tolerance": 0.2})
        assert code == 201 and waited["status"] == "done", waited
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the master killed outright: its worker must not outlive it
        proc.wait()
    wait_for(lambda: not _alive(worker), 10, "the embedded worker outlived the server")

"""Jobs on a real Redis with real worker processes (issue 20): a job survives a web server
restart, a ``kill -9`` of its worker (retried, then failed with the reason) and a broker
restart. Skipped, saying why, where Redis (or redis-server, for the restart) is absent.

The workers are ``geo-service worker`` processes whose balance is slowed by the test (a
wrapper around `balance_precincts` that reports progress ten times a second), so a job is
surely running when the test strikes; everything else is the service's own code.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import reachable

REDIS = ("127.0.0.1", 6379)

#: `geo-service worker` with the balance slowed down by TEST_SLOW_STEPS tenths of a second.
SLOW_WORKER = """
import os, sys, time
import geo_service.workload.balance as b
from geo_service import progress
real = b.balance_precincts
def slow(*a, **k):
    n = int(os.environ.get("TEST_SLOW_STEPS", "0"))
    for i in range(n):
        progress.report("test", i, n)
        time.sleep(0.1)
    return real(*a, **k)
b.balance_precincts = slow
from geo_service.cli import main
sys.exit(main(sys.argv[1:]))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url(db: int = 0) -> str:
    if not reachable(*REDIS):
        pytest.skip(f"Redis is not reachable at {REDIS[0]}:{REDIS[1]}")
    return f"redis://{REDIS[0]}:{REDIS[1]}/{db}"


class Cluster:
    """The store (a SQLite file), the broker URL, worker processes, and a planner's token."""

    def __init__(self, tmp: Path, bundle: Path, broker: str) -> None:
        from geo_service.store import Store

        self.tmp, self.bundle, self.broker = tmp, bundle, broker
        self.db = f"sqlite:///{tmp / 'gs.db'}"
        self.store = Store(self.db)
        _, self.token = self.store.create_credential(name="planner", role="planner", kind="user_token", subject="pl")
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "GEO_SERVICE_DATABASE_URL": self.db,
                    "GEO_SERVICE_JOBS_BROKER": broker, "GEO_SERVICE_JOB_HEARTBEAT_SECONDS": "0.3",
                    "GEO_SERVICE_JOB_LOST_SECONDS": "2", "GEO_SERVICE_JOB_SWEEP_SECONDS": "0.3",
                    "GEO_SERVICE_JOB_REQUEUE_SECONDS": "1", "GEO_SERVICE_BUNDLE_POLL_SECONDS": "0",
                    "XDG_RUNTIME_DIR": str(tmp), "GEO_SERVICE_CONTROL_SOCKET": "none"}

    def jobs(self) -> Any:
        from geo_service.jobs import JobStore

        return JobStore(self.store)

    def worker(self, slow_steps: int, name: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-c", SLOW_WORKER, "worker", "--bundle", str(self.bundle)],
                                env={**self.env, "TEST_SLOW_STEPS": str(slow_steps)}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def serve(self, port: int, name: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "geo_service.cli", "serve", "--bundle", str(self.bundle),
                                 "--port", str(port), "--workers", "1"], env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs.append(proc)
        wait_for(lambda: _ready(port), 60, f"serve on {port} never became ready: {self.log(name)}")
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]

    def app(self) -> Any:
        from geo_service import create_app

        return create_app({"BUNDLE": str(self.bundle), "TESTING": True, "DATABASE_URL": self.db,
                           "JOBS_BROKER": self.broker})

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def http(method: str, url: str, headers: dict[str, str], body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={**headers, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")
    except (OSError, urllib.error.URLError):  # not listening (yet)
        return 0, {}


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """``kill -9`` the worker and its worker processes at once (a machine lost, not a stop)."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture()
def cluster(tmp_path: Path, built_tiny: Path) -> Iterator[Callable[[str], Cluster]]:
    made: list[Cluster] = []

    def make(broker: str) -> Cluster:
        c = Cluster(tmp_path, built_tiny, broker)
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop()


def _running(c: Cluster, job_id: str) -> bool:
    job = c.jobs().get(job_id)
    return bool(job and job["status"] == "running" and job["progress"])


def test_a_job_survives_a_web_server_restart(cluster) -> None:
    c = cluster(redis_url())
    c.worker(slow_steps=30, name="worker")
    port = free_port()
    web = c.serve(port, "serve-1")
    code, doc = http("POST", f"http://127.0.0.1:{port}/api/v1/workload/balance", c.headers(),
                     {"tolerance": 0.2, "wait": False})
    assert code == 202, doc
    job_url = f"/api/v1/jobs/{doc['id']}"
    os.killpg(web.pid, signal.SIGTERM)  # the web server goes down while the job runs in the worker
    web.wait(timeout=30)
    wait_for(lambda: _running(c, doc["id"]), 30, c.log("worker"))
    port = free_port()
    c.serve(port, "serve-2")
    ended = wait_for(lambda: (r := http("GET", f"http://127.0.0.1:{port}{job_url}", c.headers()))[0] == 200 and r,
                     60, c.log("worker"))
    assert ended[1]["status"] == "done" and ended[1]["attempts"] == 1, ended
    assert ended[1]["result"]["summary"]["contiguous"] is True


def _post(c: Cluster, client: Any) -> tuple[str, str]:
    resp = client.post("/api/v1/workload/balance", json={"tolerance": 0.2, "wait": False}, headers=c.headers())
    assert resp.status_code == 202, resp.json
    return resp.json["id"], resp.headers["Location"]


def test_a_worker_killed_mid_job_is_retried(cluster) -> None:
    c = cluster(redis_url())
    client = c.app().test_client()
    first = c.worker(slow_steps=200, name="worker-1")
    job_id, url = _post(c, client)
    wait_for(lambda: _running(c, job_id), 30, c.log("worker-1"))
    kill_group(first)
    assert c.jobs().get(job_id)["status"] == "running"  # nobody has noticed yet
    c.worker(slow_steps=5, name="worker-2")  # notices the stopped heartbeat and runs it again
    ended = wait_for(lambda: (r := client.get(url, headers=c.headers())).status_code == 200 and r.json, 30,
                     c.log("worker-2"))
    assert ended["status"] == "done" and ended["attempts"] == 2, ended
    assert ended["result"]["summary"]["contiguous"] is True


def test_a_job_whose_workers_are_killed_twice_is_failed_with_the_reason(cluster) -> None:
    c = cluster(redis_url())
    client = c.app().test_client()
    first = c.worker(slow_steps=200, name="worker-1")
    job_id, url = _post(c, client)
    wait_for(lambda: _running(c, job_id), 30, c.log("worker-1"))
    kill_group(first)
    second = c.worker(slow_steps=200, name="worker-2")
    wait_for(lambda: (j := c.jobs().get(job_id))["attempts"] == 2 and j["status"] == "running" and j["progress"],
             30, c.log("worker-2"))
    kill_group(second)
    c.worker(slow_steps=0, name="worker-3")
    ended = wait_for(lambda: (r := client.get(url, headers=c.headers())).status_code == 200 and r.json, 30,
                     c.log("worker-3"))
    assert ended["status"] == "failed" and ended["attempts"] == 2, ended
    assert "worker running it stopped" in ended["detail"] and "attempt 2 of 2; start it again" in ended["detail"]
    other_id, _ = _post(c, client)  # the worker that gave up on it runs the next job
    wait_for(lambda: c.jobs().get(other_id)["status"] == "done", 30, c.log("worker-3"))


@pytest.fixture()
def private_redis(tmp_path: Path) -> Iterator[Callable[[str], None]]:
    """A redis-server of this test's own on a free port (the shared one is never restarted),
    without persistence: a restart forgets every queued message."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (needed to restart a broker)")
    port = free_port()
    state: dict[str, Any] = {"proc": None, "port": port}

    def control(action: str) -> None:
        if action == "start":
            state["proc"] = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                              "--appendonly", "no", "--dir", str(tmp_path)],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(lambda: reachable("127.0.0.1", port), 10, "redis-server did not start")
        else:
            state["proc"].kill()
            state["proc"].wait()

    control.port = port  # type: ignore[attr-defined]
    control("start")
    yield control
    if state["proc"] is not None and state["proc"].poll() is None:
        state["proc"].kill()
        state["proc"].wait()


def test_a_job_survives_a_broker_restart(cluster, private_redis) -> None:
    c = cluster(f"redis://127.0.0.1:{private_redis.port}/0")
    client = c.app().test_client()
    c.worker(slow_steps=0, name="worker")
    warm = client.post("/api/v1/workload/balance", json={"tolerance": 0.2, "wait": False}, headers=c.headers())
    wait_for(lambda: c.jobs().get(warm.json["id"])["status"] == "done", 30, c.log("worker"))
    # Queued while the worker is busy elsewhere ... then the broker restarts and forgets it.
    private_redis("stop")
    down = client.post("/api/v1/workload/balance", json={"tolerance": 0.2, "wait": False}, headers=c.headers())
    assert down.status_code == 202  # the job is kept in the store; the broker was unreachable
    assert client.get(down.headers["Location"], headers=c.headers()).json["status"] == "queued"
    time.sleep(1.0)
    private_redis("start")  # empty: nothing of the old queue survives
    ended = wait_for(lambda: (r := client.get(down.headers["Location"], headers=c.headers())).status_code == 200
                     and r.json, 30, c.log("worker"))
    assert ended["status"] == "done" and ended["attempts"] == 1, ended
    # and the worker that lived through the restart takes new jobs at once
    after = client.post("/api/v1/workload/balance", json={"tolerance": 0.2, "wait": False}, headers=c.headers())
    wait_for(lambda: c.jobs().get(after.json["id"])["status"] == "done", 15, c.log("worker"))

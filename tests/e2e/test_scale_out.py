"""The scale-out shape end to end (issue 20): two ``geo-service serve`` instances on two ports
(two gunicorn workers each) and one ``geo-service worker``, sharing one PostgreSQL database
(a throwaway schema) and Redis (rate limits and the job queue).

A key made on one works on the other at once; a plan made on one is read, marked and audited on
the other; a key's rate limit is one count over both; a job posted to one is answered by the
other; ``POST /admin/reload`` on one reaches every worker of both within ``BUNDLE_POLL_SECONDS``
(and the jobs worker); each instance's ``/readyz`` says what it serves. Skipped, saying why,
where PostgreSQL or Redis is absent.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TWO_PRECINCTS, grid_latlon, pg_url
from tests.web.test_jobs_redis import SLOW_WORKER, free_port, http, redis_url, wait_for

POLL_S = 2


@pytest.fixture()
def shape(tmp_path: Path, built_tiny: Path, tiny_osm: Path, write_precincts, write_roster) -> Iterator[dict[str, Any]]:
    import sqlalchemy

    from geo_service.ingest.build import BuildOptions, build_city
    from geo_service.store import Store

    base, redis = pg_url(), redis_url()
    schema = f"gs_e2e_{os.getpid()}_{secrets.token_hex(4)}"
    engine = sqlalchemy.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}?options=-csearch_path%3D{schema}"
    other = tmp_path / "second"  # the bundle the reload swaps in, under the same BUNDLE_ROOT
    build_city(BuildOptions(osm=tiny_osm, out=other, precincts=write_precincts(TWO_PRECINCTS),
                            roster=write_roster(), city="tiny-second"))
    store = Store(url)
    _, admin = store.create_credential(name="admin", role="admin", kind="user_token", subject="adm")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "GEO_SERVICE_DATABASE_URL": url,
           "GEO_SERVICE_JOBS_BROKER": redis, "GEO_SERVICE_RATELIMIT_STORAGE_URI": redis,
           "GEO_SERVICE_BUNDLE_POLL_SECONDS": str(POLL_S), "GEO_SERVICE_CONTROL_SOCKET": "none",
           "GEO_SERVICE_JOB_SWEEP_SECONDS": "0.5", "GEO_SERVICE_RATELIMIT_STRATEGY": "moving-window",
           "XDG_RUNTIME_DIR": str(tmp_path)}
    procs: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], name: str) -> None:
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        procs.append(subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        log.close()

    ports = [free_port(), free_port()]
    for port in ports:
        start([sys.executable, "-m", "geo_service.cli", "serve", "--bundle", str(built_tiny), "--port", str(port),
               "--workers", "2"], f"serve-{port}")
    start([sys.executable, "-c", SLOW_WORKER, "worker", "--bundle", str(built_tiny)], "worker")
    t0 = time.monotonic()
    for port in ports:
        wait_for(lambda p=port: http("GET", f"http://127.0.0.1:{p}/readyz", {})[0] == 200, 90,
                 (tmp_path / f"serve-{port}.log").read_text(errors="replace")[-3000:])
    try:
        yield {"ports": ports, "store": store, "admin": {"Authorization": f"Bearer {admin}"}, "second": other,
               "startup_s": time.monotonic() - t0, "log": tmp_path}
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        store.close()
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_two_instances_one_worker_one_database_one_redis(shape: dict[str, Any]) -> None:
    a, b = (f"http://127.0.0.1:{p}" for p in shape["ports"])
    admin = shape["admin"]
    # A key made on one instance works on the other at once (nothing is cached).
    code, key = http("POST", f"{a}/admin/keys", admin, {"name": "planner", "role": "planner", "kind": "user_token",
                                                        "subject": "pl"})
    assert code == 201, key
    planner = {"Authorization": f"Bearer {key['token']}"}
    assert http("GET", f"{b}/api/v1/workload", planner)[0] == 200
    code, ui1 = http("POST", f"{b}/admin/keys", admin, {"name": "ui1", "role": "inspector", "kind": "user_token",
                                                        "subject": "UI-1", "precinct_ids": ["P-01"]})
    inspector = {"Authorization": f"Bearer {ui1['token']}"}
    # A plan made on one is read, marked and audited on the other.
    lat, lon = grid_latlon(0.5, 0.5)
    code, plan = http("POST", f"{a}/api/v1/routes/plan", inspector, {
        "inspector_id": "UI-1", "include_appeals": False, "visits": [{"id": "v1", "lat": lat, "lon": lon}]})
    assert code == 201, plan
    assert http("GET", f"{b}/api/v1/routes/plans/{plan['id']}", inspector)[0] == 200
    code, mark = http("POST", f"{b}/api/v1/routes/plans/{plan['id']}/visits/v1/done", inspector, {})
    assert code == 200 and mark["done_at"], mark
    actions = {(r["action"], r["record_id"]) for r in shape["store"].audit_records()}
    assert {("plan.create", plan["id"]), ("plan.read", plan["id"]), ("visit.done", plan["id"])} <= actions
    assert shape["store"].verify_audit().intact
    # A job posted to one is answered by the other (run by the worker).
    code, job = http("POST", f"{a}/api/v1/workload/balance", planner, {"tolerance": 0.2, "wait": False})
    assert code == 202, job
    done = wait_for(lambda: (r := http("GET", f"{b}/api/v1/jobs/{job['id']}", planner))[0] == 200 and r[1], 60,
                    (shape["log"] / "worker.log").read_text(errors="replace")[-3000:])
    assert done["status"] == "done" and done["result"]["summary"]["contiguous"] is True
    # A key's limit (4 a minute) is one count over both instances (Redis; a moving window).
    code, limited = http("POST", f"{a}/admin/keys", admin, {"name": "few", "role": "planner", "kind": "user_token",
                                                            "subject": "few", "rate_limit": "4/minute"})
    few = {"Authorization": f"Bearer {limited['token']}"}
    codes = [http("GET", f"{url}/api/v1/workload", few)[0] for url in (a, b, a, b, a, b)]
    assert codes == [200, 200, 200, 200, 429, 429], codes
    # A reload on one reaches every worker of both within the poll interval (and the jobs worker).
    t0 = time.monotonic()
    code, reloaded = http("POST", f"{b}/admin/reload", admin, {"bundle": str(shape["second"])})
    assert code == 200 and reloaded["current"]["city"] == "tiny-second", reloaded
    version = reloaded["current"]["bundle_version"]

    def everywhere() -> bool:  # 12 answers in a row from each instance (its two workers) say the new bundle
        return all(all(http("GET", f"{url}/readyz", {})[1].get("bundle_version") == version for _ in range(12))
                   for url in (a, b))

    wait_for(everywhere, POLL_S + 15, "an instance's worker still serves the old bundle")
    reached = time.monotonic() - t0
    assert reached <= POLL_S + 10, reached
    ready = http("GET", f"{a}/readyz", {})[1]
    assert ready["status"] == "ready" and ready["city"] == "tiny-second" and ready["bundle_version"] == version
    code, site = http("POST", f"{b}/api/v1/siting/solve", admin, {
        "model": "mclp", "minutes": 2, "p": 1, "existing": "none", "wait": False})
    assert code == 202, site
    sited = wait_for(lambda: (r := http("GET", f"{a}/api/v1/jobs/{site['id']}", admin))[0] == 200 and r[1], 60,
                     "the siting job did not end")
    assert sited["status"] == "done" and sited["result"]["bundle_version"] == version  # the worker followed
    print(f"startup {shape['startup_s']:.1f} s, reload reached both instances in {reached:.1f} s")

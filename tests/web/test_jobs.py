"""Queued jobs in one process (issue 20): the job document, progress, cancelling, who may read a
job, what the broker carries, and the sweep that retries or fails a job whose worker stopped."""

from __future__ import annotations

import datetime as dt
import pickle
import threading
import time

import pytest

from geo_service.web.context import STORE_EXT
from tests.conftest import grid_latlon


def _token(app, role: str, *, subject: str | None = None, precincts: tuple[str, ...] = (),
           scopes: tuple[str, ...] = ()) -> dict[str, str]:
    _, token = app.extensions[STORE_EXT].create_credential(name=f"t-{role}-{subject}", role=role, kind="user_token",
                                                          subject=subject, precinct_ids=precincts, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}


def _until_ended(client, url: str, headers: dict, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while (resp := client.get(url, headers=headers)).status_code == 202:
        assert resp.json["status"] in ("queued", "running") and resp.headers["Retry-After"]
        assert time.monotonic() < deadline, resp.json
        time.sleep(0.1)
    assert resp.status_code == 200, resp.json
    return resp.json


def _schedule(label: str = "Ivanova, flat 12") -> dict:
    lat, lon = grid_latlon(0.5, 0.5)
    return {"inspector_id": "UI-1", "start_date": "2026-12-01", "days": 5, "wait": False, "visits": [
        {"visit": {"id": "v1", "lat": lat, "lon": lon, "minutes": 10, "priority": 2, "label": label},
         "every_days": 2}]}


def test_a_balance_job_goes_queued_running_done_with_its_progress(app, client) -> None:
    planner = _token(app, "planner", subject="pl")
    resp = client.post("/api/v1/workload/balance", json={"tolerance": 0.2, "wait": False}, headers=planner)
    assert resp.status_code == 202 and resp.json["status"] == "queued"
    job_url = resp.headers["Location"]
    assert job_url == f"/api/v1/jobs/{resp.json['id']}" and resp.json["links"]["self"] == job_url
    done = _until_ended(client, job_url, planner)
    assert done["status"] == "done" and done["attempts"] == 1 and done["finished_at"]
    assert done["result"]["summary"]["contiguous"] is True
    assert done["progress"]["step"] == "restarts" and done["progress"]["done"] == done["progress"]["total"] >= 1
    # The kind's own URL answers the same proposal.
    kept = client.get(resp.json["links"]["result"], headers=planner)
    assert kept.status_code == 200 and kept.json["summary"] == done["result"]["summary"]


def test_who_may_read_and_cancel_a_job(app, client) -> None:
    planner = _token(app, "planner", subject="pl")
    ui1 = _token(app, "inspector", subject="UI-1", precincts=("P-01",))
    ui2 = _token(app, "inspector", subject="UI-2", precincts=("P-02",))
    other_in_p01 = _token(app, "inspector", subject="UI-9", precincts=("P-01",))
    routes_only = _token(app, "planner", subject="pl-routes", scopes=("routes",))
    balance = client.post("/api/v1/workload/balance", json={"wait": False}, headers=planner).headers["Location"]
    schedule = client.post("/api/v1/routes/schedule", json=_schedule(), headers=ui1)
    assert schedule.status_code == 202, schedule.json
    sched = schedule.headers["Location"]
    assert client.get(balance).status_code == 401
    assert client.get(balance, headers=ui1).status_code == 403  # a planner's job
    assert client.get(balance, headers=routes_only).status_code == 403  # the scope is workload
    assert client.get(sched, headers=ui2).status_code == 403  # another precinct
    assert client.get(sched, headers=other_in_p01).status_code == 403  # another inspector
    assert client.delete(sched, headers=ui2).status_code == 403
    assert client.get(sched, headers=routes_only).status_code in (200, 202)
    done = _until_ended(client, sched, ui1)
    assert done["status"] == "done" and done["progress"]["step"] == "days" and done["progress"]["total"] == 5
    assert done["result"]["days"] and done["result"]["precinct_id"] == "P-01"
    assert _until_ended(client, balance, planner)["status"] == "done"
    assert client.get("/api/v1/jobs/rs_000000000000000000000000", headers=planner).status_code == 404
    audit = app.extensions[STORE_EXT].audit_records()
    reads = [(r["action"], r["outcome"]) for r in audit if r["record_type"] == "job"]
    assert ("job.read", "denied") in reads and ("job.read", "ok") in reads and ("job.cancel", "denied") in reads


def test_a_running_job_is_cancelled_at_its_next_progress_point(app, client, monkeypatch) -> None:
    import geo_service.workload.balance as balance_module
    from geo_service import progress

    started, rounds = threading.Event(), []

    def endless(*_a, **_k):
        for k in range(600):
            started.set()
            rounds.append(k)
            progress.report("restarts", k, 600)
            time.sleep(0.02)
        raise AssertionError("the job was not cancelled")

    monkeypatch.setattr(balance_module, "balance_precincts", endless)
    planner = _token(app, "planner", subject="pl")
    url = client.post("/api/v1/workload/balance", json={"wait": False}, headers=planner).headers["Location"]
    assert started.wait(10)
    asked = client.delete(url, headers=planner)
    assert asked.status_code in (200, 202) and asked.json["cancel_requested"] is True
    ended = _until_ended(client, url, planner)
    assert ended["status"] == "cancelled" and "cancelled" in ended["detail"] and len(rounds) < 600
    kept = client.get(f"/api/v1/workload/balance/{ended['id']}", headers=planner).json
    assert kept["status"] == "cancelled"
    # Cancelling an ended job changes nothing.
    assert client.delete(url, headers=planner).json["status"] == "cancelled"


def test_a_queued_job_is_cancelled_at_once_and_never_runs(app) -> None:
    from geo_service.jobs import JobQueue

    store = app.extensions[STORE_EXT].opened()
    queue = JobQueue(store, "memory://")  # no worker takes from it
    rid = store.save_result(kind="balance", created_by="user:pl", body={"status": "queued"})
    queue.jobs.create(rid, kind="balance", created_by="user:pl", role="planner", inputs={})
    assert queue.enqueue(rid)
    assert queue.jobs.cancel(rid) == "cancelled"
    assert not queue.jobs.claim(rid, "w:1")  # the message left on the broker takes nothing


def test_the_broker_carries_the_job_id_and_nothing_personal(built_tiny, tmp_path) -> None:
    from geo_service import create_app
    from geo_service.jobs import JobQueue

    broker = f"sqlite:///{tmp_path / 'queue.db'}"  # a broker no worker reads
    app = create_app({"BUNDLE": str(built_tiny), "TESTING": True, "JOBS_BROKER": broker, "JOBS_WORKER": "external"})
    client = app.test_client()
    ui1 = _token(app, "inspector", subject="UI-1", precincts=("P-01",))
    label = "Ivanova, flat 12"
    resp = client.post("/api/v1/routes/schedule", json=_schedule(label), headers=ui1)
    assert resp.status_code == 202
    queue = JobQueue(app.extensions[STORE_EXT].opened(), broker)
    raw = queue.huey.storage.enqueued_items()
    assert len(raw) == 1 and label.encode() not in raw[0] and b"UI-1" not in raw[0] and b"P-01" not in raw[0]
    message = pickle.loads(raw[0])  # Huey's own message: its task name, id and arguments
    assert message.args == (resp.json["id"],) and not message.kwargs
    assert label in str(queue.jobs.inputs(resp.json["id"]))  # the inputs stay in the store
    assert client.get(resp.headers["Location"], headers=ui1).json["status"] == "queued"


def test_a_job_whose_worker_stopped_is_retried_once_then_failed_with_the_reason(app) -> None:
    from geo_service.jobs import JobQueue, Timing

    store = app.extensions[STORE_EXT].opened()
    queue = JobQueue(store, "memory://", timing=Timing(lost_s=30))
    rid = store.save_result(kind="balance", created_by="user:pl", body={"status": "queued"})
    queue.jobs.create(rid, kind="balance", created_by="user:pl", role="planner", inputs={})
    t = queue.jobs.table

    def killed_mid_job(claim: str) -> None:
        assert queue.jobs.claim(rid, claim)
        with store.engine.begin() as conn:  # its heartbeat stopped a minute ago
            conn.execute(t.update().where(t.c.id == rid).values(
                heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))

    killed_mid_job("w:1")
    queue.sweep()
    job = queue.jobs.get(rid)
    assert job["status"] == "queued" and job["attempts"] == 1 and "attempt 1 of 2" in job["detail"]
    assert rid in queue.pending_ids()  # handed to the broker again
    assert queue.jobs.beat(rid, "w:1", None) is None  # the stopped worker's claim holds nothing
    killed_mid_job("w:2")
    queue.sweep()
    job = queue.jobs.get(rid)
    assert job["status"] == "failed" and "attempt 2 of 2; start it again" in job["detail"]
    assert store.get_result(rid)["body"] == {"status": "failed", "detail": job["detail"]}
    assert not queue.jobs.finish(rid, "w:2", "done")  # a late end of the lost attempt is dropped


def test_a_queued_job_the_broker_lost_is_handed_to_it_again(app) -> None:
    from geo_service.jobs import JobQueue, Timing

    store = app.extensions[STORE_EXT].opened()
    queue = JobQueue(store, "memory://", timing=Timing(requeue_s=0))
    rid = store.save_result(kind="balance", created_by="user:pl", body={"status": "queued"})
    queue.jobs.create(rid, kind="balance", created_by="user:pl", role="planner", inputs={})
    assert queue.pending_ids() == set()  # never handed over (the broker was down)
    time.sleep(0.01)
    queue.sweep()
    assert queue.pending_ids() == {rid}
    queue.sweep()
    assert len(queue.huey.storage.enqueued_items()) == 1  # held already: not sent twice


@pytest.mark.parametrize("broker", ["ftp://x", "redis", "postgresql://x/y"])
def test_a_bad_broker_url_is_refused_naming_the_setting(broker: str) -> None:
    from geo_service.errors import InputError
    from geo_service.jobs.queue import make_huey

    with pytest.raises(InputError) as err:
        make_huey(broker, "x")
    assert err.value.extra["field"] == "JOBS_BROKER"

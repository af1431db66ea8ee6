"""Workload, balanced precincts and appeals over HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from geo_service.web.context import STORE_EXT
from tests.conftest import grid_latlon


def _h(app, role: str, **kw) -> dict[str, str]:
    kind = "api_key" if role == "external_system" else "user_token"
    _, token = app.extensions[STORE_EXT].create_credential(name=f"t-{role}", role=role, kind=kind, **kw)
    return {"Authorization": f"Bearer {token}"}


def test_workload_indicators_json_and_csv(app, client) -> None:
    planner = _h(app, "planner")
    assert client.get("/api/v1/workload").status_code == 401
    assert client.get("/api/v1/workload", headers=_h(app, "inspector", precinct_ids=["P-01"])).status_code == 403
    resp = client.get("/api/v1/workload", headers=planner)
    assert resp.status_code == 200, resp.json
    body = resp.json
    rows = {r["precinct_id"]: r for r in body["precincts"]}
    assert set(rows) == {"P-01", "P-02"}
    mean = sum(r["workload_index"] for r in rows.values()) / 2
    assert mean == pytest.approx(1.0, abs=1e-6)
    assert rows["P-01"]["residents"] > 0 and rows["P-01"]["inspectors"] == 1
    csv = client.get("/api/v1/workload?format=csv", headers=planner)
    assert csv.mimetype == "text/csv" and "workload_index" in csv.get_data(as_text=True).splitlines()[0]
    assert client.get("/api/v1/workload?from=yesterday", headers=planner).status_code == 400


@pytest.mark.now("2026-11-25T12:00:00+05:00")  # after the marks of 30 Oct and 10 Nov 2026
def test_workload_counts_visits_made(app, client) -> None:
    """Visits marked made on kept plans show in the workload table, counted by when made."""
    from geo_service.appeals.store import AppealStore

    store = AppealStore(app.extensions[STORE_EXT], city=app.extensions["geo_service"])
    store.record_due([{"inspector_id": "UI-1", "visit_ref": f"v{k}", "due_date": "2026-11-10", "precinct_id": "P-01",
                       "priority": 2} for k in range(3)])
    for k, when in ((0, "2026-11-10T10:00:00+05:00"), (1, "2026-10-30T10:00:00+05:00")):
        store.mark_done(inspector_id="UI-1", visit_ref=f"v{k}", due_date="2026-11-10", done_at=when)
    planner = _h(app, "planner")
    rows = {r["precinct_id"]: r for r in client.get("/api/v1/workload", headers=planner).json["precincts"]}
    assert rows["P-01"]["visits"] == 2 and rows["P-02"]["visits"] == 0  # made (the third is not)
    nov = client.get("/api/v1/workload?from=2026-11-01&to=2026-12-01", headers=planner).json["precincts"]
    assert {r["precinct_id"]: r["visits"] for r in nov} == {"P-01": 1, "P-02": 0}


def test_balance_proposal_is_kept(app, client) -> None:
    planner = _h(app, "planner")
    resp = client.post("/api/v1/workload/balance", json={"tolerance": 0.2}, headers=planner)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["summary"]["contiguous"] is True
    assert body["geojson"]["type"] == "FeatureCollection"
    again = client.get(resp.headers["Location"], headers=planner)
    assert again.status_code == 200 and again.json["summary"] == body["summary"]
    assert body["summary"]["after"]["beyond_band_lower_bound"] is not None
    ruled = client.post("/api/v1/workload/balance", json={"tolerance": 0.2, "max_extra_travel_min": 0.01},
                        headers=planner)
    assert ruled.status_code == 201 and ruled.json["summary"]["moved_blocks"] == 0
    assert ruled.json["summary"]["after"]["extra_travel"]["max_min"] == 0
    # null switches the default rule (60 min) off.
    free = client.post("/api/v1/workload/balance", json={"tolerance": 0.2, "max_extra_travel_min": None},
                       headers=planner)
    assert free.status_code == 201 and "blocks_breaking_rule" not in free.json["summary"]["after"]
    assert "blocks_breaking_rule" in body["summary"]["after"]  # the default keeps a rule
    bad = client.post("/api/v1/workload/balance", json={"max_extra_travel_min": 0}, headers=planner)
    assert bad.status_code == 400 and bad.headers["Content-Type"].startswith("application/problem+json")


def _job_result(client, location: str, headers: dict) -> dict:
    """Poll a job's Location until it is no longer running (202).

    Polls twice a second: a faster loop on a slow machine spends the client's rate limit
    (600 a minute) before the job ends, and the test fails on a 429 instead of the job.
    """
    import time

    deadline = time.monotonic() + 120
    while True:
        resp = client.get(location, headers=headers)
        if resp.status_code != 202:
            assert resp.status_code == 200, resp.json
            doc = resp.json  # a job's document: its result under "result" once done
            return {**doc.get("result", {}), **{k: v for k, v in doc.items() if k != "result"}}
        assert resp.json["status"] in ("queued", "running") and resp.headers["Retry-After"]
        assert time.monotonic() < deadline, "the job did not finish in two minutes"
        time.sleep(0.5)


def test_balance_as_a_job_answers_at_once_and_keeps_the_proposal(app, client) -> None:
    planner = _h(app, "planner")
    resp = client.post("/api/v1/workload/balance", json={"tolerance": 0.2, "wait": False}, headers=planner)
    assert resp.status_code == 202 and resp.json["status"] == "queued"
    assert resp.headers["Location"] == f"/api/v1/jobs/{resp.json['id']}"
    assert resp.headers["Location"].endswith(resp.json["id"])
    done = _job_result(client, resp.headers["Location"], planner)
    assert done["status"] == "done" and done["summary"]["contiguous"] is True
    assert done["geojson"]["type"] == "FeatureCollection"
    # The same proposal as a waited-for answer (the method is deterministic on this city).
    waited = client.post("/api/v1/workload/balance", json={"tolerance": 0.2}, headers=planner).json
    assert done["summary"]["after"]["within_tolerance"] == waited["summary"]["after"]["within_tolerance"]
    # A bad input found only when the job runs is kept as its reason, in one line.
    bad = client.post("/api/v1/workload/balance", json={"wait": False, "hard_borders": {
        "type": "Point", "coordinates": [0, 0]}}, headers=planner)
    assert bad.status_code == 202
    failed = _job_result(client, bad.headers["Location"], planner)
    assert failed["status"] == "failed" and "\n" not in failed["detail"] and failed["detail"]
    # Another planner may read it; the public may not.
    assert client.get(resp.headers["Location"]).status_code in (401, 403)


def test_jobs_beyond_the_cap_are_refused_until_one_ends(app, client, monkeypatch) -> None:
    import threading
    import time

    import geo_service.workload.balance as balance_module
    from geo_service.errors import InputError
    from geo_service.web import jobs as kept

    gate = threading.Event()

    def held(*_a, **_k):
        gate.wait(30)
        raise InputError("stopped by the test")

    monkeypatch.setattr(balance_module, "balance_precincts", held)
    with app.app_context():
        monkeypatch.setattr(kept, "MAX_PENDING_JOBS", kept.pending_jobs(app) + 1)
    planner = _h(app, "planner")
    url = "/api/v1/workload/balance"
    first = client.post(url, json={"wait": False}, headers=planner)
    assert first.status_code == 202
    busy = client.post(url, json={"wait": False}, headers=planner)
    assert busy.status_code == 503 and busy.mimetype == "application/problem+json"
    assert "jobs are queued or running" in busy.json["detail"]
    gate.set()
    assert _job_result(client, first.headers["Location"], planner)["detail"] == "stopped by the test"
    deadline = time.monotonic() + 10
    while kept.pending_jobs(app) >= kept.MAX_PENDING_JOBS:
        assert time.monotonic() < deadline, "the ended job still counts as pending"
        time.sleep(0.05)
    again = client.post(url, json={"wait": False}, headers=planner)
    assert again.status_code == 202
    assert _job_result(client, again.headers["Location"], planner)["status"] == "failed"


def test_a_job_left_running_too_long_is_reported_lost(app, client) -> None:
    from geo_service.web.jobs import JOB_LOST_AFTER

    store = app.extensions[STORE_EXT]
    planner = _h(app, "planner")
    rid = store.save_result(kind="balance", created_by="test", body={"status": "running"})
    url = f"/api/v1/workload/balance/{rid}"
    assert client.get(url, headers=planner).status_code == 202
    old = dt.datetime.now(dt.UTC) - JOB_LOST_AFTER - dt.timedelta(minutes=1)
    with store.engine.begin() as conn:
        conn.execute(store.results.update().where(store.results.c.id == rid).values(created_at=old))
    lost = client.get(url, headers=planner)
    assert lost.status_code == 200 and lost.json["status"] == "failed" and "lost" in lost.json["detail"]


def test_appeal_flow(app, client) -> None:
    system = {"X-API-Key": _h(app, "external_system")["Authorization"].split()[1]}
    lat, lon = grid_latlon(1, 0.5)
    resp = client.post("/api/v1/appeals", json={"lat": lat, "lon": lon, "category": "noise"}, headers=system)
    assert resp.status_code == 201, resp.json
    appeal = resp.json
    assert appeal["precinct_id"] == "P-01" and appeal["inspector_id"] == "UI-1" and appeal["status"] == "received"
    by_address = client.post("/api/v1/appeals", json={"address": "Пушкина 13/1", "category": "parking"},
                             headers=system)
    assert by_address.status_code == 201
    ui1 = _h(app, "inspector", subject="UI-1", precinct_ids=["P-01"])
    ui2 = _h(app, "inspector", subject="UI-2", precinct_ids=["P-02"])
    listed = client.get("/api/v1/appeals", headers=ui1).json
    assert {a["id"] for a in listed["appeals"]} >= {appeal["id"]}
    assert client.get("/api/v1/appeals", headers=ui2).json["count"] == 0
    url = f"/api/v1/appeals/{appeal['id']}/status"
    assert client.post(url, json={"status": "first_contact"}, headers=ui2).status_code == 403
    assert client.post(url, json={"status": "closed"}, headers=ui1).status_code == 400  # a step skipped
    assert client.post(url, json={"status": "first_contact"}, headers=ui1).json["status"] == "first_contact"
    assert client.post(url, json={"status": "closed"}, headers=ui1).json["status"] == "closed"
    assert client.post("/api/v1/appeals", json={"lat": lat, "lon": lon, "category": "Free text!"},
                       headers=system).status_code == 400
    ind = client.get("/api/v1/appeals/indicators", headers=_h(app, "planner")).json
    assert any(r["precinct_id"] == "P-01" for r in ind["precincts"])


def test_open_appeals_join_the_next_plan(app, client) -> None:
    system = {"X-API-Key": _h(app, "external_system")["Authorization"].split()[1]}
    lat, lon = grid_latlon(2, 0.5)
    appeal = client.post("/api/v1/appeals", json={"lat": lat, "lon": lon, "category": "noise"}, headers=system).json
    ui1 = _h(app, "inspector", subject="UI-1", precinct_ids=["P-01"])
    plan = client.post("/api/v1/routes/plan", json={"inspector_id": "UI-1", "visits": [], "save": False},
                       headers=ui1).json["plan"]
    assert [s["visit_id"] for s in plan["stops"] if s["kind"] == "visit"] == [f"appeal:{appeal['id']}"]
    plain = client.post("/api/v1/routes/plan", json={"inspector_id": "UI-1", "visits": [], "save": False,
                                                     "include_appeals": False}, headers=ui1).json["plan"]
    assert not [s for s in plain["stops"] if s["kind"] == "visit"]


# -- the reform's indicators: trust, pilots, evaluation, export ----------------------------------
def _seed_appeals(app, months: list[str]) -> None:
    """Appeals in P-01 and P-02 in the given months (YYYY-MM), contact after 2 h (P-01) or 5 h (P-02)."""
    from geo_service.appeals.store import AppealStore

    store = AppealStore(app.extensions[STORE_EXT], city=app.extensions["geo_service"])
    for month in months:
        for pid, (i, j), hours in (("P-01", (1, 0.5), 2), ("P-02", (1, 2.5), 5)):
            lat, lon = grid_latlon(i, j)
            a = store.create(lat=lat, lon=lon, category="noise", received_at=f"{month}-03T09:00:00+00:00")
            assert a.precinct_id == pid
            store.advance(a.id, "first_contact", f"{month}-03T{9 + hours:02d}:00:00+00:00")
            store.advance(a.id, "closed", f"{month}-05T09:00:00+00:00")


def test_trust_import_csv_and_json(app, client) -> None:
    planner = _h(app, "planner")
    url = "/api/v1/workload/trust"
    csv_body = "precinct_id,period,score\nP-01,2026-01,3.5\nP-02,2026-01-01,4\n"
    assert client.post(url, data=csv_body, content_type="text/csv").status_code == 401
    assert client.post(url, data=csv_body, content_type="text/csv",
                       headers=_h(app, "inspector", precinct_ids=["P-01"])).status_code == 403
    resp = client.post(url, data=csv_body, content_type="text/csv", headers=planner)
    assert resp.status_code == 201, resp.json
    assert resp.json == {"imported": 2, "precincts": 2}
    resp = client.post(url, json={"rows": [{"precinct_id": "P-01", "period": "2026-01", "score": 4.25}]},
                       headers=planner)
    assert resp.status_code == 201 and resp.json["imported"] == 1
    from geo_service.web.context import appeal_store

    with app.test_request_context():
        scores = appeal_store().trust_scores()
    assert sorted(zip(scores.precinct_id, scores.score)) == [("P-01", 4.25), ("P-02", 4.0)]  # replaced, not added


def test_trust_import_names_each_bad_row(app, client) -> None:
    planner = _h(app, "planner")
    bad = ("precinct_id,period,score\nP-01,2026-01,3.5\nP-99,2026-01,3\nP-02,January,3\n"
           "P-02,2026-02,high\n,2026-02,1\nP-01,2026-03,nan\n")
    resp = client.post("/api/v1/workload/trust", data=bad, content_type="text/csv", headers=planner)
    assert resp.status_code == 400 and resp.content_type == "application/problem+json"
    problems = resp.json["problems"]
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5", "line 6", "line 7"]
    assert all("\n" not in p for p in problems)
    assert "P-99" in problems[0] and "January" in problems[1] and "high" in problems[2]
    resp = client.post("/api/v1/workload/trust", json={"rows": [{"precinct_id": "P-01", "period": "2026-01",
                                                                 "score": "x"}]}, headers=planner)
    assert resp.status_code == 400 and resp.json["problems"][0].startswith("row 1: score")
    assert client.post("/api/v1/workload/trust", data="a,b\n1,2\n", content_type="text/csv",
                       headers=planner).status_code == 400
    from geo_service.web.context import appeal_store

    with app.test_request_context():
        assert len(appeal_store().trust_scores()) == 0  # a bad row refuses the whole import


def test_pilot_evaluation(app, client) -> None:
    planner = _h(app, "planner")
    url = "/api/v1/workload/pilots/evaluation"
    assert client.get(url, headers=planner).status_code == 400  # no pilots yet
    _seed_appeals(app, ["2026-01", "2026-02", "2026-03", "2026-04"])
    # P-01 gets one more appeal a month after its pilot starts: +1 against P-02.
    from geo_service.appeals.store import AppealStore

    store = AppealStore(app.extensions[STORE_EXT], city=app.extensions["geo_service"])
    for month in ("2026-03", "2026-04"):
        lat, lon = grid_latlon(1, 0.6)
        store.create(lat=lat, lon=lon, category="theft", received_at=f"{month}-10T09:00:00+00:00")
    assert client.post("/api/v1/workload/pilots", json={"precinct_id": "P-99", "start": "2026-03-01"},
                       headers=planner).status_code == 400
    assert client.post("/api/v1/workload/pilots", json={"precinct_id": "P-01", "start": "2026-03-01",
                                                         "note": "new post"},
                       headers=_h(app, "inspector", precinct_ids=["P-01"])).status_code == 403
    resp = client.post("/api/v1/workload/pilots", json={"precinct_id": "P-01", "start": "2026-03-01",
                                                         "note": "new post"}, headers=planner)
    assert resp.status_code == 201 and resp.json["start"] == "2026-03-01"
    body = client.get(f"{url}?indicator=appeals", headers=planner).json
    assert body["indicator"] == "appeals" and body["pilots"] == {"P-01": "2026-03-01"}
    assert body["effect"] == pytest.approx(1.0) and body["n_pilot"] == 1 and body["n_control"] == 1
    assert "too few" in body["caveat"] and "small numbers" in body["caveat"]
    hours = client.get(f"{url}?indicator=first_contact_hours", headers=planner).json
    assert hours["effect"] == pytest.approx(0.0)
    assert client.get(f"{url}?indicator=trust", headers=planner).status_code == 400  # no survey yet
    assert client.get(f"{url}?indicator=crime", headers=planner).status_code == 400


def test_indicators_csv(app, client) -> None:
    import csv
    import io

    planner = _h(app, "planner")
    _seed_appeals(app, ["2026-01", "2026-02"])
    client.post("/api/v1/workload/trust", data="precinct_id,period,score\nP-02,2026-02-15,3.9\n",
                content_type="text/csv", headers=planner)
    assert client.get("/api/v1/workload/indicators.csv").status_code == 401
    resp = client.get("/api/v1/workload/indicators.csv", headers=planner)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert list(rows[0]) == ["precinct_id", "period", "appeals_received", "appeals_closed",
                             "first_contact_median_h", "trust_score", "register_visits_due",
                             "register_visits_on_time", "register_visits_share_on_time"]
    by = {(r["precinct_id"], r["period"]): r for r in rows}
    assert set(by) == {("P-01", "2026-01"), ("P-01", "2026-02"), ("P-02", "2026-01"), ("P-02", "2026-02")}
    assert by["P-01", "2026-01"]["appeals_received"] == "1" and by["P-01", "2026-01"]["appeals_closed"] == "1"
    assert float(by["P-02", "2026-02"]["first_contact_median_h"]) == 5.0
    assert float(by["P-02", "2026-02"]["trust_score"]) == 3.9 and by["P-01", "2026-02"]["trust_score"] == ""
    assert by["P-01", "2026-01"]["register_visits_due"] == "0"
    assert by["P-01", "2026-01"]["register_visits_share_on_time"] == ""
    feb = client.get("/api/v1/workload/indicators.csv?from=2026-02-01&to=2026-03-01", headers=planner)
    assert {r["period"] for r in csv.DictReader(io.StringIO(feb.get_data(as_text=True)))} == {"2026-02"}

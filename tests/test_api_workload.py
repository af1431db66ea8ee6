"""Workload, balanced precincts and appeals over HTTP."""

from __future__ import annotations

import pytest

from geo_service.security import STORE_EXT
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


def test_balance_proposal_is_kept(app, client) -> None:
    planner = _h(app, "planner")
    resp = client.post("/api/v1/workload/balance", json={"tolerance": 0.2}, headers=planner)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["summary"]["contiguous"] is True
    assert body["geojson"]["type"] == "FeatureCollection"
    again = client.get(resp.headers["Location"], headers=planner)
    assert again.status_code == 200 and again.json["summary"] == body["summary"]


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

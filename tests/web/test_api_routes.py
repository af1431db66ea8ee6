"""Route plans and schedules over HTTP: roles, own precinct, audit, GPX, sheet, bad input."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from geo_service import clock
from geo_service.web.context import STORE_EXT
from tests.conftest import grid_latlon


def _token(app, role: str, *, subject: str | None = None, precincts: tuple[str, ...] = ()) -> dict[str, str]:
    _, token = app.extensions[STORE_EXT].create_credential(name=f"t-{role}-{subject}", role=role, kind="user_token",
                                                          subject=subject, precinct_ids=precincts)
    return {"Authorization": f"Bearer {token}"}


def _visits() -> list[dict]:
    out = []
    for k, (i, j) in enumerate([(0.5, 0.2), (1.5, 0.5), (2.5, 1.2), (3, 0.3)]):
        lat, lon = grid_latlon(i, j)
        out.append({"id": f"v{k}", "lat": lat, "lon": lon, "minutes": 10, "priority": 2, "label": f"visit {k}"})
    out.append({"id": "addr", "address": "Пушкина 13/1", "minutes": 10, "priority": "appeal",
                "windows": [["10:00", "12:00"]], "label": "<b>appeal</b>"})
    return out


@pytest.fixture()
def ui1(app) -> dict[str, str]:
    return _token(app, "inspector", subject="UI-1", precincts=("P-01",))


def test_plan_keep_and_read_back(app, client, ui1) -> None:
    resp = client.post("/api/v1/routes/plan", json={"inspector_id": "UI-1", "date": "2026-12-01",
                                                    "visits": _visits()}, headers=ui1)
    assert resp.status_code == 201, resp.json
    body = resp.json
    plan = body["plan"]
    visited = [s["visit_id"] for s in plan["stops"] if s["kind"] == "visit"]
    assert sorted(visited) == ["addr", "v0", "v1", "v2", "v3"]  # each once
    addr = next(s for s in plan["stops"] if s["visit_id"] == "addr")
    assert "10:00" <= addr["start"] <= "12:00"
    assert addr["address"] == "Пушкина 13/1"  # shown to the inspector at the door
    assert all(s["address"] == "" for s in plan["stops"] if s["visit_id"] != "addr")
    assert plan["stops"][0]["kind"] == "start" and plan["stops"][-1]["kind"] == "end"
    assert all(leg["geometry"]["type"] == "LineString" for leg in plan["legs"])
    plan_id = body["id"]
    assert plan_id.startswith("pl_") and "UI-1" not in plan_id
    again = client.get(f"/api/v1/routes/plans/{plan_id}", headers=ui1)
    assert again.status_code == 200 and again.json["plan"] == plan
    gpx = client.get(f"/api/v1/routes/plans/{plan_id}/gpx", headers=ui1)
    assert gpx.status_code == 200 and gpx.mimetype == "application/gpx+xml"
    root = ET.fromstring(gpx.data)
    assert len(root.findall("{http://www.topografix.com/GPX/1/1}wpt")) >= 6
    sheet = client.get(f"/api/v1/routes/plans/{plan_id}/sheet", headers=ui1).get_data(as_text=True)
    assert "&lt;b&gt;appeal&lt;/b&gt;" in sheet and "<b>appeal</b>" not in sheet
    kk = client.get(f"/api/v1/routes/plans/{plan_id}/sheet?lang=kk", headers=ui1)
    assert kk.headers["Content-Language"] == "kk"
    assert "Мекенжай" in kk.get_data(as_text=True) and "Пушкина 13/1" in kk.get_data(as_text=True)
    en = client.get(f"/api/v1/routes/plans/{plan_id}/sheet?lang=en", headers=ui1).get_data(as_text=True)
    assert "Address" in en and "Мекенжай" not in en
    assert client.get(f"/api/v1/routes/plans/{plan_id}/sheet?x=1", headers=ui1).status_code == 400
    records = app.extensions[STORE_EXT].audit_records()
    assert any(r["action"] == "plan.read" and r["record_id"] == plan_id and r["outcome"] == "ok" for r in records)


def test_other_inspectors_and_precincts_are_refused(app, client, ui1) -> None:
    plan_id = client.post("/api/v1/routes/plan", json={"inspector_id": "UI-1", "visits": _visits()[:2]},
                          headers=ui1).json["id"]
    ui2 = _token(app, "inspector", subject="UI-2", precincts=("P-02",))
    assert client.get(f"/api/v1/routes/plans/{plan_id}", headers=ui2).status_code == 403
    assert client.post("/api/v1/routes/plan", json={"inspector_id": "UI-1", "visits": _visits()[:1]},
                       headers=ui2).status_code == 403
    records = app.extensions[STORE_EXT].audit_records()
    assert any(r["record_id"] == plan_id and r["outcome"] == "denied" for r in records)
    planner = _token(app, "planner", subject="pl-1")
    assert client.get(f"/api/v1/routes/plans/{plan_id}", headers=planner).status_code == 200
    assert client.get(f"/api/v1/routes/plans/{plan_id}").status_code == 401
    assert client.get("/api/v1/routes/plans/pl_000000000000000000000000", headers=planner).status_code == 404


def test_priority_rule_when_the_day_is_full(app, client, ui1) -> None:
    visits = []
    for k in range(8):
        lat, lon = grid_latlon(k % 4, (k // 4) * 2 + 0.5)
        visits.append({"id": f"v{k}", "lat": lat, "lon": lon, "minutes": 100, "priority": 1 + k % 4})
    body = {"inspector_id": "UI-1", "visits": visits, "save": False,
            "shift": {"start": "09:00", "end": "15:00", "breaks": []}}
    resp = client.post("/api/v1/routes/plan", json=body, headers=ui1)
    assert resp.status_code == 200, resp.json
    plan = resp.json["plan"]
    kept = {s["visit_id"]: s["priority"] for s in plan["stops"] if s["kind"] == "visit"}
    dropped = {u["visit_id"]: u["priority"] for u in plan["unassigned"]}
    assert kept and dropped and len(kept) + len(dropped) == 8
    assert min(dropped.values()) >= max(kept.values())


@pytest.mark.parametrize("change, status", [
    ({"inspector_id": "UI-9"}, 404),
    ({"visits": [{"id": "x", "lat": 43.25}]}, 400),
    ({"visits": [{"id": "x", "lat": 43.25, "lon": 76.9, "windows": [["12:00", "11:00"]]}]}, 400),
    ({"visits": [{"id": f"x{k}", "lat": 43.25, "lon": 76.9} for k in range(501)]}, 400),
    ({"mode": "fly"}, 400),
    ({"visits": [{"id": "x", "address": "qqqq zzzz"}]}, 400),
    ({"visits": [{"id": "x", "lat": grid_latlon(1, 5)[0], "lon": grid_latlon(1, 5)[1]}],
      "outside_precinct": "reject"}, 400),
])
def test_bad_plans(app, client, ui1, change: dict, status: int) -> None:
    body = {"inspector_id": "UI-1", "visits": _visits()[:1], "save": False, **change}
    resp = client.post("/api/v1/routes/plan", json=body, headers=ui1)
    assert resp.status_code == status, resp.json
    assert resp.content_type == "application/problem+json"


def test_outside_visit_is_a_warning_by_default(client, ui1) -> None:
    lat, lon = grid_latlon(1, 2.5)  # P-02
    resp = client.post("/api/v1/routes/plan", json={"inspector_id": "UI-1", "save": False,
                                                    "visits": [{"id": "far", "lat": lat, "lon": lon}]}, headers=ui1)
    assert resp.status_code == 200
    assert any("outside precinct P-01" in w for w in resp.json["warnings"])


def test_schedule_spreads_weekly_visits(client, ui1) -> None:
    visits = [{"visit": v, "every_days": 7} for v in _visits()[:3]]
    body = {"inspector_id": "UI-1", "start_date": "2026-12-01", "days": 14, "visits": visits,
            "days_off": ["2026-12-06", "2026-12-07"]}
    resp = client.post("/api/v1/routes/schedule", json=body, headers=ui1)
    assert resp.status_code == 200, resp.json
    out = resp.json
    days = [d for d in out["days"] if any(s["kind"] == "visit" for s in d["plan"]["stops"])]
    made = [s["visit_id"] for d in days for s in d["plan"]["stops"] if s["kind"] == "visit"]
    for v in ("v0", "v1", "v2"):
        assert made.count(v) == 2  # weekly over two weeks
    assert not any(d["date"] in ("2026-12-06", "2026-12-07") for d in days)


def test_patrol_fills_the_spare_time(client, ui1) -> None:
    hotspot = list(grid_latlon(2, 1))
    body = {"inspector_id": "UI-1", "visits": _visits()[:2], "save": False, "patrol_fill": True,
            "hotspots": [hotspot], "shift": {"start": "09:00", "end": "12:00", "breaks": []}}
    resp = client.post("/api/v1/routes/plan", json=body, headers=ui1)
    assert resp.status_code == 200, resp.json
    patrol = resp.json["patrol"]
    end_stop = resp.json["plan"]["stops"][-1]
    assert patrol["start"] == end_stop["arrival"] and patrol["end"] <= "12:00"
    coords = patrol["geometry"]["coordinates"]
    assert coords[0] == coords[-1] or abs(coords[0][0] - coords[-1][0]) < 1e-3  # back at the post
    assert patrol["length_m"] > 200


@pytest.mark.now("2026-11-25T12:00:00+05:00")  # after the plan's day (20th), before v1 is due (30th)
def test_visits_made_on_time_from_kept_plans(app, client, ui1) -> None:
    visits = _visits()
    visits[1]["due"] = "2026-11-30"  # a preventive-register visit due later than the plan's day
    with clock.frozen_at("2026-11-19T17:00:00+05:00"):  # planned the day before
        resp = client.post("/api/v1/routes/plan", json={"inspector_id": "UI-1", "date": "2026-11-20",
                                                        "visits": visits, "include_appeals": False}, headers=ui1)
    assert resp.status_code == 201, resp.json
    plan_id = resp.json["id"]
    base = f"/api/v1/routes/plans/{plan_id}/visits"
    with clock.frozen_at("2026-11-20T15:00:00+05:00"):  # marked on the plan's day
        done = client.post(f"{base}/v0/done", json={"done_at": "2026-11-20T11:00:00+06:00"}, headers=ui1)
        assert done.status_code == 200, done.json
        assert done.json["due_date"] == "2026-11-20" and done.json["on_time"] is True
        import datetime as dt

        assert dt.datetime.fromisoformat(done.json["done_at"]) == dt.datetime(2026, 11, 20, 5, tzinfo=dt.UTC)
        now = client.post(f"{base}/v1/done", headers=ui1)  # no body: done now, due on the 30th
        assert now.status_code == 200 and now.json["due_date"] == "2026-11-30" and now.json["on_time"] is True
    # Refused: another inspector, no credentials, a visit not in the plan, a time in the future or
    # without a time zone.
    ui2 = _token(app, "inspector", subject="UI-2", precincts=("P-02",))
    assert client.post(f"{base}/v2/done", headers=ui2).status_code == 403
    assert client.post(f"{base}/v2/done").status_code == 401
    assert client.post(f"{base}/nope/done", headers=ui1).status_code == 404
    for bad in ({"done_at": "2099-01-01T10:00:00+00:00"}, {"done_at": "2026-11-20T10:00:00"}, {"when": "x"}):
        r = client.post(f"{base}/v2/done", json=bad, headers=ui1)
        assert r.status_code == 400 and r.mimetype == "application/problem+json", (bad, r.json)
    # The indicator: v0..v3 are preventive-register visits (v2, v3 are overdue, not made);
    # the appeal is not counted.
    planner = _token(app, "planner", subject="pl")
    ind = client.get("/api/v1/appeals/indicators?from=2026-11-01&to=2026-12-01", headers=planner)
    assert ind.status_code == 200
    row = next(r for r in ind.json["register_visits"] if r["precinct_id"] == "P-01")
    assert (row["due"], row["on_time"], row["late"], row["missed"]) == (4, 2, 0, 2) and row["share_on_time"] == 0.5
    assert client.get("/api/v1/appeals/indicators", headers=ui1).status_code == 403
    csv = client.get("/api/v1/workload/indicators.csv", headers=planner).get_data(as_text=True).splitlines()
    header = csv[0].split(",")
    nov = dict(zip(header, next(line for line in csv if line.startswith("P-01,2026-11")).split(",")))
    assert (nov["register_visits_due"], nov["register_visits_on_time"], nov["register_visits_share_on_time"]) == (
        "4", "2", "0.5")
    records = app.extensions[STORE_EXT].audit_records()
    assert sum(r["action"] == "visit.done" and r["record_id"] == plan_id and r["outcome"] == "ok"
               for r in records) == 2
    # A mark set by mistake is taken back (the plan's inspector; not another one).
    assert client.delete(f"{base}/v0/done", headers=ui2).status_code == 403
    assert client.delete(f"{base}/nope/done", headers=ui1).status_code == 404
    undone = client.delete(f"{base}/v0/done", headers=ui1)
    assert undone.status_code == 200 and undone.json["done_at"] is None and undone.json["visit_id"] == "v0"
    ind = client.get("/api/v1/appeals/indicators?from=2026-11-01&to=2026-12-01", headers=planner)
    row = next(r for r in ind.json["register_visits"] if r["precinct_id"] == "P-01")
    assert (row["on_time"], row["missed"]) == (1, 3)
    made = client.get("/api/v1/workload", headers=planner).json  # all visits made: v1 (now)
    assert {r["precinct_id"]: r["visits"] for r in made["precincts"]}["P-01"] == 1
    assert any(r["action"] == "visit.undone" and r["record_id"] == plan_id
               for r in app.extensions[STORE_EXT].audit_records())


@pytest.mark.now("2026-11-20T12:00:00+05:00")  # after the first fortnight from 2 Nov 2026
def test_schedule_days_are_kept_with_occurrence_due_dates(app, client, ui1) -> None:
    visits = [{"visit": v, "every_days": 7} for v in _visits()[:3]]
    body = {"inspector_id": "UI-1", "start_date": "2026-11-02", "days": 14, "visits": visits}
    with clock.frozen_at("2026-11-01T09:00:00+05:00"):  # planned before the period
        out = client.post("/api/v1/routes/schedule", json=body, headers=ui1).json
    days = [d for d in out["days"] if d["visit_ids"]]
    assert days and all(d["plan_id"].startswith("pl_") for d in days)
    assert all("plan_id" not in d for d in out["days"] if not d["visit_ids"])
    first = next(d for d in days if "v0" in d["visit_ids"])
    assert first["due"]["v0"] == "2026-11-08"  # the first weekly occurrence is due by the 7th day
    kept = client.get(first["links"]["self"], headers=ui1)
    assert kept.status_code == 200 and kept.json["date"] == first["date"]
    done = client.post(f"/api/v1/routes/plans/{first['plan_id']}/visits/v0/done",
                       json={"done_at": f"{first['date']}T12:00:00+05:00"}, headers=ui1)
    assert done.status_code == 200 and done.json["due_date"] == "2026-11-08" and done.json["on_time"] is True
    # Not kept on request: no plan ids.
    quiet = client.post("/api/v1/routes/schedule", json={**body, "save": False}, headers=ui1).json
    assert not any("plan_id" in d for d in quiet["days"])

"""Times keep their meaning over HTTP: a visit is marked made on its plan's day, an appeal's
steps follow each other and none lies in the future; impossible stored times are not counted.

Each refusal is a 400 problem naming the field and the rule (``field``, ``rule``)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import insert, update

from geo_service import clock
from geo_service.web.context import STORE_EXT, appeal_store
from tests.conftest import grid_latlon

#: The plan's day is 1 December 2026 (Asia/Almaty, UTC+5); planned the evening before.
PLANNED = "2026-11-30T18:00:00+05:00"
DAY = "2026-12-01"


def _token(app, role: str, *, subject: str | None = None, precincts: tuple[str, ...] = ()) -> dict[str, str]:
    _, token = app.extensions[STORE_EXT].create_credential(name=f"t-{role}-{subject}", role=role, kind="user_token",
                                                          subject=subject, precinct_ids=precincts)
    return {"Authorization": f"Bearer {token}"}


def _plan(app, client, ui1) -> str:
    visits = [{"id": f"v{k}", "lat": grid_latlon(i, j)[0], "lon": grid_latlon(i, j)[1], "minutes": 10, "priority": 2}
              for k, (i, j) in enumerate([(0.5, 0.2), (1.5, 0.5), (2.5, 1.2)])]
    with clock.frozen_at(PLANNED):
        resp = client.post("/api/v1/routes/plan", json={"inspector_id": "UI-1", "date": DAY, "visits": visits,
                                                        "include_appeals": False}, headers=ui1)
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def _refused(resp, field: str, rule: str) -> None:
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json", resp.json
    assert (resp.json.get("field"), resp.json.get("rule")) == (field, rule), resp.json
    assert field in resp.json["detail"]


@pytest.fixture()
def ui1(app) -> dict[str, str]:
    return _token(app, "inspector", subject="UI-1", precincts=("P-01",))


@pytest.mark.parametrize(("now", "done_at", "rule"), [
    ("2026-12-01T15:00:00+05:00", "0001-01-01T10:00:00+00:00", None),           # year 1: the date type's range
    ("2026-12-01T15:00:00+05:00", "2026-12-01T16:00:00+05:00", "not_in_future"),  # an hour ahead of the clock
    ("2026-12-01T15:00:00+05:00", "2026-11-30T17:00:00+05:00", "not_before_plan"),
    ("2026-12-01T15:00:00+05:00", "2026-11-30T23:30:00+05:00", "within_plan_day"),  # after planning, the day before
    ("2026-12-03T15:00:00+05:00", "2026-12-02T07:00:00+05:00", "within_plan_day"),  # past the 06:00 grace
    ("2026-12-03T15:00:00+05:00", None, "within_plan_day"),                          # "now", two days later
])
def test_done_at_outside_the_plan_is_refused(app, client, ui1, now: str, done_at: str | None,
                                              rule: str | None) -> None:
    plan_id = _plan(app, client, ui1)
    url = f"/api/v1/routes/plans/{plan_id}/visits/v0/done"
    with clock.frozen_at(now):
        resp = client.post(url, json={"done_at": done_at} if done_at else None, headers=ui1)
    if rule is None:  # the calendar check of every date field (pydantic), naming the field
        assert resp.status_code == 400 and "done_at" in resp.json["detail"] and "2000-01-01" in resp.json["detail"]
    else:
        _refused(resp, "done_at", rule)
    planner = _token(app, "planner", subject="pl")
    ind = client.get("/api/v1/appeals/indicators?from=2026-12-01&to=2026-12-02", headers=planner).json
    assert all(r["on_time"] == 0 for r in ind["register_visits"])  # nothing counted as made


@pytest.mark.parametrize(("now", "done_at", "on_time"), [
    ("2026-12-01T10:00:00+05:00", "2026-12-01T00:00:00+05:00", True),   # the day's first minute
    ("2026-12-02T09:00:00+05:00", "2026-12-02T05:59:00+05:00", False),  # the grace after midnight: kept, late
    ("2026-12-01T10:00:00+05:00", "2026-12-01T10:08:00+05:00", True),   # a phone 8 minutes fast
    ("2026-12-01T10:00:00+05:00", None, True),                          # now, on the day
])
def test_done_at_within_the_plan_day_is_kept(app, client, ui1, now: str, done_at: str | None,
                                             on_time: bool) -> None:
    plan_id = _plan(app, client, ui1)
    with clock.frozen_at(now):
        resp = client.post(f"/api/v1/routes/plans/{plan_id}/visits/v1/done",
                           json={"done_at": done_at} if done_at else None, headers=ui1)
    assert resp.status_code == 200, resp.json
    assert resp.json["on_time"] is on_time


def test_the_signed_link_keeps_the_same_rules(app, client, ui1) -> None:
    plan_id = _plan(app, client, ui1)
    with clock.frozen_at("2026-12-01T12:00:00+05:00"):
        url = client.post(f"/api/v1/routes/plans/{plan_id}/link", headers=ui1).json["url"]
        for bad in ("2026-11-29T10:00:00+05:00", "2026-12-02T08:00:00+05:00", "0001-01-01T00:00:00+00:00"):
            resp = client.post(f"{url}/stops/1/done", data={"done_at": bad})
            assert resp.status_code == 400, bad  # the route page's error page (the phone keeps the mark)
        with app.app_context():
            assert appeal_store().done_in_plan(inspector_id="UI-1", due={"v0": DAY, "v1": DAY, "v2": DAY}) == {}
        assert client.post(f"{url}/stops/1/done", data={"done_at": "2026-12-01T11:00:00+05:00"}).status_code == 303
        with app.app_context():
            assert len(appeal_store().done_in_plan(inspector_id="UI-1", due={"v0": DAY, "v1": DAY, "v2": DAY})) == 1


@pytest.mark.now("2026-12-01T12:00:00+05:00")
def test_appeal_times_over_http(app, client) -> None:
    store = app.extensions[STORE_EXT]
    _, key = store.create_credential(name="egov", role="external_system", kind="api_key")
    ext = {"X-API-Key": key}
    lat, lon = grid_latlon(1, 0.5)
    made = client.post("/api/v1/appeals", json={"lat": lat, "lon": lon, "category": "noise",
                                                "received_at": "2026-12-01T09:00:00+05:00"}, headers=ext)
    assert made.status_code == 201, made.json
    future = client.post("/api/v1/appeals", json={"lat": lat, "lon": lon, "category": "noise",
                                                  "received_at": "2029-12-01T10:00:00+05:00"}, headers=ext)
    _refused(future, "received_at", "not_in_future")
    ui1 = _token(app, "inspector", subject="UI-1", precincts=("P-01",))
    url = f"/api/v1/appeals/{made.json['id']}/status"
    back = client.post(url, json={"status": "first_contact", "at": "2026-11-30T09:00:00+05:00"}, headers=ui1)
    _refused(back, "at", "first_contact_after_received")
    ahead = client.post(url, json={"status": "first_contact", "at": "2026-12-02T09:00:00+05:00"}, headers=ui1)
    _refused(ahead, "at", "not_in_future")
    ok = client.post(url, json={"status": "first_contact", "at": "2026-12-01T10:00:00+05:00"}, headers=ui1)
    assert ok.status_code == 200, ok.json
    early = client.post(url, json={"status": "closed", "at": "2026-12-01T09:30:00+05:00"}, headers=ui1)
    _refused(early, "at", "closed_after_first_contact")


@pytest.mark.now("2026-12-10T12:00:00+05:00")
def test_stored_impossible_times_are_left_out_of_the_indicators(app, client, ui1) -> None:
    """Rows written behind the service's back: a visit made in year 2000's eve or decades ahead,
    an appeal contacted before it was received, one received in 2090."""
    plan_id = _plan(app, client, ui1)
    with app.app_context():
        appeals = appeal_store()
        v = appeals.visits
        lat, lon = grid_latlon(1, 0.5)
        a = appeals.create(lat=lat, lon=lon, category="noise", received_at="2026-12-01T09:00:00+05:00")
        b = appeals.create(lat=lat, lon=lon, category="noise", received_at="2026-12-01T09:00:00+05:00")
        appeals.advance(b.id, "first_contact", "2026-12-01T11:00:00+05:00")
        with appeals.engine.begin() as conn:
            conn.execute(update(v).where(v.c.visit_ref == "v0").values(
                done_at=dt.datetime(1999, 12, 31, tzinfo=dt.UTC)))
            conn.execute(update(v).where(v.c.visit_ref == "v1").values(
                done_at=dt.datetime(2080, 12, 1, tzinfo=dt.UTC)))
            conn.execute(update(appeals.appeals).where(appeals.appeals.c.id == a.id).values(
                status="first_contact", first_contact_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)))
            conn.execute(insert(appeals.appeals).values(
                id="a_future", received_at=dt.datetime(2090, 1, 1, tzinfo=dt.UTC), category="noise", lat=lat,
                lon=lon, precinct_id="P-01", inspector_id="UI-1", status="received"))
    planner = _token(app, "planner", subject="pl")
    ind = client.get("/api/v1/appeals/indicators?from=2026-12-01&to=2026-12-31", headers=planner).json
    row = next(r for r in ind["register_visits"] if r["precinct_id"] == "P-01")
    assert (row["due"], row["on_time"], row["missed"]) == (3, 0, 3), row  # neither impossible mark counts
    times = next(r for r in ind["precincts"] if r["precinct_id"] == "P-01")
    assert times["first_contact_median_h"] == pytest.approx(2.0)  # not the backdated -728 h
    work = client.get("/api/v1/workload", headers=planner).json
    counts = {r["precinct_id"]: (r["appeals"], r["visits"]) for r in work["precincts"]}
    assert counts["P-01"] == (2, 0)  # the appeal of 2090 and both impossible marks left out
    assert work["ignored_times"]["appeals"] == 2  # the 2090 receipt and the backdated first contact
    csv = client.get("/api/v1/workload/indicators.csv", headers=planner).get_data(as_text=True).splitlines()
    header = csv[0].split(",")
    dec = dict(zip(header, next(line for line in csv if line.startswith("P-01,2026-12")).split(",")))
    assert dec["register_visits_on_time"] == "0"
    assert not any(line.startswith("P-01,2090") for line in csv)
    assert plan_id  # the plan the marks belonged to


def test_implausible_times_in_records_from_files(app) -> None:
    """`indicators` on records given by the caller (the CLI's files) leaves impossible times out."""
    from geo_service.web.context import get_city
    from geo_service.workload.indicators import implausible_times, indicators

    records = pd.DataFrame({"precinct_id": ["P-01"] * 3,
                            "received_at": ["0001-01-01T00:00:00Z", "2026-12-01T09:00:00Z", "2095-01-01T00:00:00Z"]})
    with clock.frozen_at("2026-12-10T12:00:00+05:00"):
        assert implausible_times(records, ("received_at",)).tolist() == [True, False, True]
        with app.app_context():
            frame = indicators(get_city(), appeals=records)
    assert int(frame.set_index("precinct_id").loc["P-01", "appeals"]) == 1
    assert frame.attrs["ignored_times"]["appeals"] == 2

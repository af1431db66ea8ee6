"""Appeals in the database (SQLite, and PostgreSQL when reachable), indicators, DiD."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, update

from geo_service.appeals.store import AppealStore
from geo_service.bundle import load_bundle
from geo_service.errors import InputError, InputFileError, NotFound
from geo_service.store import Store
from geo_service.workload.reform import VisitRecord, difference_in_differences, monthly_panel, visits_on_time
from tests.conftest import grid_latlon, pg_url

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

#: Appeal times may not lie in the future: the tests' moment is after every time they give
#: (a test's own mark wins).
pytestmark = pytest.mark.now("2026-06-01T12:00:00+05:00")


@pytest.fixture()
def city(built_tiny: Path):
    c = load_bundle(built_tiny)
    extra = c.roster.iloc[[0]].copy()
    extra["inspector_id"] = "UI-3"
    c.roster = pd.concat([c.roster, extra], ignore_index=True)  # two inspectors in P-01
    return c


@pytest.fixture(params=["sqlite", "postgresql"])
def appeals(request: pytest.FixtureRequest, tmp_path: Path, city):
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'gs.db'}")
        yield AppealStore(store, city=city)
        store.close()
    else:
        store = Store(pg_url(), schema=f"gs_test_{os.getpid()}_{secrets.token_hex(4)}")
        try:
            yield AppealStore(store, city=city)
        finally:
            store.drop_all()
            store.close()


def test_create_assigns_precinct_and_least_busy_inspector(appeals: AppealStore) -> None:
    lat, lon = grid_latlon(1, 0.5)
    a1 = appeals.create(lat=lat, lon=lon, category="noise", received_at=T0)
    assert a1.precinct_id == "P-01" and a1.status == "received" and a1.inspector_id == "UI-1"
    a2 = appeals.create(lat=lat, lon=lon, category="theft", received_at=T0 + timedelta(minutes=5))
    assert a2.inspector_id == "UI-3"  # UI-1 already has one open appeal
    b = appeals.create(lat=grid_latlon(1, 2.5)[0], lon=grid_latlon(1, 2.5)[1], category="noise", received_at=T0)
    assert b.precinct_id == "P-02" and b.inspector_id == "UI-2"
    assert [a.id for a in appeals.open_for_inspector("UI-1")] == [a1.id]
    visit = appeals.open_for_inspector("UI-1")[0].as_visit()
    assert visit["id"] == f"appeal:{a1.id}" and visit["lat"] == pytest.approx(lat)
    assert set(a1.to_dict()) == {"id", "received_at", "category", "lat", "lon", "precinct_id", "inspector_id",
                                 "status", "first_contact_at", "closed_at"}


def test_status_flow_and_illegal_transitions(appeals: AppealStore) -> None:
    lat, lon = grid_latlon(1, 0.5)
    a = appeals.create(lat=lat, lon=lon, category="noise", received_at=T0)
    with pytest.raises(InputError):
        appeals.advance(a.id, "closed", T0 + timedelta(hours=1))  # skips first contact
    with pytest.raises(InputError):
        appeals.advance(a.id, "first_contact", T0 - timedelta(hours=1))  # before it was received
    with pytest.raises(InputError):
        appeals.advance(a.id, "solved", T0)
    a = appeals.advance(a.id, "first_contact", T0 + timedelta(hours=2))
    assert a.status == "first_contact" and a.first_contact_at == T0 + timedelta(hours=2)
    with pytest.raises(InputError):
        appeals.advance(a.id, "first_contact", T0 + timedelta(hours=3))
    a = appeals.advance(a.id, "closed", T0 + timedelta(hours=30))
    assert a.closed_at == T0 + timedelta(hours=30)
    with pytest.raises(InputError):
        appeals.advance(a.id, "received", T0 + timedelta(hours=31))
    assert [s for s, _ in appeals.history(a.id)] == ["received", "first_contact", "closed"]
    assert appeals.open_for_inspector(a.inspector_id) == []
    with pytest.raises(NotFound):
        appeals.advance("a_missing", "closed")


def test_bad_inputs_and_no_personal_data(appeals: AppealStore) -> None:
    lat, lon = grid_latlon(1, 0.5)
    for cat in ("", "Иван Петров", "call me at +7 700", "x" * 60):
        with pytest.raises(InputError):
            appeals.create(lat=lat, lon=lon, category=cat)
    with pytest.raises(InputError):
        appeals.create(lat=95, lon=lon, category="noise")
    with pytest.raises(NotFound):  # outside every precinct
        appeals.create(lat=grid_latlon(1, 12)[0], lon=grid_latlon(1, 12)[1], category="noise")
    cols = {c.name for c in appeals.appeals.columns}
    assert not cols & {"name", "phone", "text", "description", "address"}


def test_processing_times_per_precinct(appeals: AppealStore) -> None:
    lat, lon = grid_latlon(1, 0.5)
    for k, hours in enumerate((1, 2, 3, 10)):
        a = appeals.create(lat=lat, lon=lon, category="noise", received_at=T0 + timedelta(days=k))
        appeals.advance(a.id, "first_contact", a.received_at + timedelta(hours=hours))
        if k < 2:
            appeals.advance(a.id, "closed", a.received_at + timedelta(hours=24))
    pt = appeals.processing_times(start=T0, end=T0 + timedelta(days=30)).set_index("precinct_id")
    assert pt.loc["P-01", "received"] == 4 and pt.loc["P-01", "closed"] == 2
    assert pt.loc["P-01", "first_contact_median_h"] == pytest.approx(2.5)
    assert pt.loc["P-01", "close_median_h"] == pytest.approx(24)
    assert pt.loc["P-01", "first_contact_p90_h"] == pytest.approx(np.quantile([1, 2, 3, 10], 0.9))
    panel = monthly_panel(appeals.frame(), time_column="received_at", how="count")
    assert panel.value.tolist() == [4]


def test_trust_scores_and_pilots(appeals: AppealStore, tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    path.write_text("precinct_id,period,score\nP-01,2026-01,3.5\nP-02,2026-01-01,4.1\n", encoding="utf-8")
    assert appeals.import_trust_csv(path) == 2
    path.write_text("precinct_id,period,score\nP-01,2026-01,3.9\n", encoding="utf-8")
    assert appeals.import_trust_csv(path) == 1  # replaces P-01's January score
    t = appeals.trust_scores().set_index("precinct_id")
    assert t.loc["P-01", "score"] == pytest.approx(3.9) and len(t) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("precinct_id,period,score\nP-01,soon,high\n", encoding="utf-8")
    with pytest.raises(InputFileError):
        appeals.import_trust_csv(bad)
    appeals.mark_pilot("P-02", date(2026, 2, 1), note="new post")
    assert appeals.pilot_starts() == {"P-02": date(2026, 2, 1)}


def test_visits_on_time_share() -> None:
    v = [VisitRecord("P-01", date(2026, 1, 10), date(2026, 1, 9)),
         VisitRecord("P-01", date(2026, 1, 10), date(2026, 1, 12)),
         VisitRecord("P-01", date(2026, 1, 15), None),          # missed
         VisitRecord("P-01", date(2026, 3, 15), None),          # not due yet: not counted
         VisitRecord("P-02", date(2026, 1, 10), date(2026, 1, 10))]
    s = visits_on_time(v, as_of=date(2026, 2, 1)).set_index("precinct_id")
    assert s.loc["P-01", "due"] == 3 and s.loc["P-01", "on_time"] == 1 and s.loc["P-01", "missed"] == 1
    assert s.loc["P-01", "share_on_time"] == pytest.approx(1 / 3)
    assert s.loc["P-02", "share_on_time"] == 1
    assert visits_on_time(v, as_of=date(2026, 2, 1), grace_days=2).set_index("precinct_id").loc["P-01", "on_time"] == 2


def _panel(effect: float, noise: float, seed: int = 1) -> tuple[pd.DataFrame, dict[str, date]]:
    rng = np.random.default_rng(seed)
    months = pd.date_range("2025-01-01", periods=12, freq="MS")
    rows = []
    pilots = {f"P{k:02d}": date(2025, 7, 1) for k in range(5)}
    for k in range(20):
        pid = f"P{k:02d}"
        base = 10 + k
        for m, t in enumerate(months):
            v = base + 0.5 * m + (effect if pid in pilots and t >= pd.Timestamp("2025-07-01") else 0)
            rows.append({"precinct_id": pid, "period": t, "value": v + rng.normal(0, noise)})
    return pd.DataFrame(rows), pilots


def test_did_recovers_a_known_effect() -> None:
    panel, pilots = _panel(-2.0, 0.0)
    r = difference_in_differences(panel, pilots)
    assert r.effect == pytest.approx(-2.0)
    assert r.n_pilot == 5 and r.n_control == 15
    noisy = difference_in_differences(*_panel(-2.0, 1.0))
    assert noisy.ci95[0] < -2.0 < noisy.ci95[1]
    assert "small numbers" in str(noisy) and "too few" in noisy.caveat  # 5 pilots < 10
    assert noisy.to_dict()["caveat"] == noisy.caveat


def test_did_rejects_unusable_input() -> None:
    panel, pilots = _panel(-2.0, 0.0)
    with pytest.raises(InputError):
        difference_in_differences(panel, {})
    with pytest.raises(InputError):
        difference_in_differences(panel, {"P00": date(2030, 1, 1)})  # no data after the start
    with pytest.raises(InputError):
        difference_in_differences(panel.drop(columns="value"), pilots)


@pytest.mark.now("2026-03-20T12:00:00+05:00")  # after the marks of 10-11 March 2026
def test_visit_records_round_trip(appeals: AppealStore) -> None:
    """Visits due and made, on SQLite and PostgreSQL: upsert keeps what was made, the city's
    local date decides on time, bad input is refused."""
    due = date(2026, 3, 10)
    rows = [{"inspector_id": "UI-1", "visit_ref": f"r{k}", "due_date": due, "precinct_id": "P-01", "priority": 2,
             "plan_id": "pl_a"} for k in range(3)]
    assert appeals.record_due(rows) == 3
    # 20:00 UTC on the due date is 01:00 the next day in Almaty: late by the local date.
    late = appeals.mark_done(inspector_id="UI-1", visit_ref="r0", due_date=due, done_at="2026-03-10T20:00:00+00:00")
    assert late["on_time"] is False and late["done_at"].startswith("2026-03-11T01:00:00")
    ok = appeals.mark_done(inspector_id="UI-1", visit_ref="r1", due_date="2026-03-10",
                           done_at="2026-03-10T10:00:00+05:00")
    assert ok["on_time"] is True
    # Recorded again by the same plan: what was made stays made.
    appeals.record_due([rows[0]])
    frame = appeals.visit_frame(start=date(2026, 3, 1), end=date(2026, 4, 1))
    assert list(frame.columns) == ["precinct_id", "inspector_id", "due_date", "done_date", "done_at", "priority",
                                   "time_problem"]
    assert sorted(d for d in frame["done_date"] if pd.notna(d)) == [date(2026, 3, 10), date(2026, 3, 11)]
    assert appeals.visits_made(start=T0.replace(day=1), end=T0.replace(month=4, day=1)) == 2
    assert appeals.visits_made(start=T0.replace(day=1), end=T0.replace(month=4, day=1), precinct_id="P-02") == 0
    made = appeals.done_in_plan(inspector_id="UI-1", due={"r0": "2026-03-10", "r1": "2026-03-10", "r2": "2026-03-10",
                                                           "r9": "2026-03-10"})
    assert set(made) == {"r0", "r1"} and made["r0"].hour == 1  # local time
    share = visits_on_time(frame, as_of=date(2026, 4, 1)).set_index("precinct_id").loc["P-01"]
    assert (share["due"], share["on_time"], share["late"], share["missed"]) == (3, 1, 1, 1)
    # Another plan reusing visit id r0 that day is another visit: not made, and no mark of pl_a is pl_b's.
    appeals.record_due([{**rows[0], "plan_id": "pl_b"}])
    assert appeals.done_in_plan(inspector_id="UI-1", due={"r0": "2026-03-10"}, plan_id="pl_b") == {}
    assert set(appeals.done_in_plan(inspector_id="UI-1", due={"r1": "2026-03-10"}, plan_id="pl_a")) == {"r1"}
    with pytest.raises(NotFound):
        appeals.mark_done(inspector_id="UI-1", visit_ref="r1", due_date=due, plan_id="pl_b")
    with pytest.raises(NotFound):
        appeals.mark_done(inspector_id="UI-1", visit_ref="nope", due_date=due)
    with pytest.raises(InputError, match="future"):
        appeals.mark_done(inspector_id="UI-1", visit_ref="r2", due_date=due, done_at="2099-01-01T00:00:00+00:00")
    with pytest.raises(InputError, match="visit id"):
        appeals.record_due([{**rows[0], "visit_ref": "Иванов И.И. ул. Абая 1"}])
    with pytest.raises(InputError, match="time zone"):
        AppealStore(appeals.engine, tz="Mars/Olympus")


def _problem(exc: pytest.ExceptionInfo[InputError]) -> tuple[str | None, str | None]:
    doc = exc.value.to_problem()
    return doc.get("field"), doc.get("rule")


def test_appeal_times_keep_their_meaning(appeals: AppealStore) -> None:
    """Received and status times: not in the future (10 minutes of clock skew allowed), first
    contact not before the receipt, closing not before the first contact, 2000-2100."""
    lat, lon = grid_latlon(1, 0.5)
    now = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # the module's moment
    with pytest.raises(InputError) as exc:
        appeals.create(lat=lat, lon=lon, category="noise", received_at=now + timedelta(days=365 * 3))
    assert _problem(exc) == ("received_at", "not_in_future")
    with pytest.raises(InputError) as exc:
        appeals.create(lat=lat, lon=lon, category="noise", received_at="0001-01-01T00:00:00+00:00")
    assert _problem(exc) == ("received_at", "year_range")
    # A few minutes ahead (another system's clock) is accepted.
    a = appeals.create(lat=lat, lon=lon, category="noise", received_at=now + timedelta(minutes=5))
    with pytest.raises(InputError) as exc:
        appeals.advance(a.id, "first_contact", now - timedelta(days=2))  # backdated before the receipt
    assert _problem(exc) == ("at", "first_contact_after_received")
    with pytest.raises(InputError) as exc:
        appeals.advance(a.id, "first_contact", now + timedelta(hours=2))
    assert _problem(exc) == ("at", "not_in_future")
    b = appeals.create(lat=lat, lon=lon, category="noise", received_at=now - timedelta(hours=5))
    b = appeals.advance(b.id, "first_contact", now - timedelta(hours=4))
    with pytest.raises(InputError) as exc:
        appeals.advance(b.id, "closed", now - timedelta(hours=4, minutes=30))
    assert _problem(exc) == ("at", "closed_after_first_contact")
    with pytest.raises(InputError) as exc:
        appeals.advance(b.id, "closed", now + timedelta(days=400))
    assert _problem(exc) == ("at", "not_in_future")
    assert appeals.advance(b.id, "closed", now).closed_at == now


def test_stored_times_that_break_the_rules_are_not_counted(appeals: AppealStore) -> None:
    """Rows written behind the service's back (or before the rules) with impossible times are
    left out of the indicators and flagged, never counted as on time."""
    lat, lon = grid_latlon(1, 0.5)
    good = appeals.create(lat=lat, lon=lon, category="noise", received_at=T0)
    appeals.advance(good.id, "first_contact", T0 + timedelta(hours=2))
    back = appeals.create(lat=lat, lon=lon, category="noise", received_at=T0)
    ahead = appeals.create(lat=lat, lon=lon, category="noise", received_at=T0)
    with appeals.engine.begin() as conn:
        a = appeals.appeals
        conn.execute(update(a).where(a.c.id == back.id).values(status="first_contact",
                                                               first_contact_at=T0 - timedelta(days=30)))
        conn.execute(update(a).where(a.c.id == ahead.id).values(received_at=datetime(2090, 1, 1, tzinfo=UTC)))
        v = appeals.visits
        conn.execute(insert(v), [
            {"inspector_id": "UI-1", "visit_ref": "y1", "due_date": date(2026, 3, 10), "precinct_id": "P-01",
             "priority": 2, "plan_id": "pl_x", "done_at": datetime(2000, 1, 1, tzinfo=UTC) - timedelta(days=1)},
            {"inspector_id": "UI-1", "visit_ref": "fut", "due_date": date(2026, 3, 10), "precinct_id": "P-01",
             "priority": 2, "plan_id": "pl_x", "done_at": datetime(2080, 3, 10, tzinfo=UTC)},
            {"inspector_id": "UI-1", "visit_ref": "ok", "due_date": date(2026, 3, 10), "precinct_id": "P-01",
             "priority": 2, "plan_id": "pl_x", "done_at": datetime(2026, 3, 10, 6, tzinfo=UTC)}])
    frame = appeals.frame()
    assert set(frame["id"]) == {good.id, back.id}  # received in 2090: left out
    row = frame.set_index("id").loc[back.id]
    assert pd.isna(row["first_contact_at"]) and row["time_problem"] == "first_contact_at"
    assert frame.attrs["ignored_times"] == 2
    assert len(appeals.frame(checked=False)) == 3  # as stored, for the inspector's list
    pt = appeals.processing_times().set_index("precinct_id")
    assert pt.loc["P-01", "first_contact_median_h"] == pytest.approx(2.0)  # the backdated one is not -720 h
    visits = appeals.visit_frame()
    flagged = visits[visits["time_problem"].notna()]
    assert len(flagged) == 2 and flagged["done_at"].isna().all()
    share = visits_on_time(visits, as_of=date(2026, 4, 1)).set_index("precinct_id").loc["P-01"]
    assert (share["due"], share["on_time"], share["missed"]) == (3, 1, 2)
    assert appeals.visits_made(start=date(2000, 1, 1), end=date(2100, 12, 31), priority=2) == 1
    made = appeals.visits_made_by_precinct(priority=2).set_index("precinct_id")["count"].to_dict()
    assert made == {"P-01": 1}


def test_a_replanned_day_keeps_what_was_made_and_supersedes_the_rest(appeals: AppealStore) -> None:
    """Visit ids name visits within a plan. Replanning a day with the same ids: the new plan's
    visits start unmarked, a visit the old plan made stays made (counted once), the old plan's
    visits not made are superseded (not counted as due twice)."""
    due = date(2026, 3, 10)
    old = [{"inspector_id": "UI-1", "visit_ref": f"v{k}", "due_date": due, "precinct_id": "P-01",
            "priority": 2, "plan_id": "pl_old"} for k in range(3)]
    appeals.record_due(old)
    appeals.mark_done(inspector_id="UI-1", visit_ref="v0", due_date=due, done_at="2026-03-10T10:00:00+05:00",
                      plan_id="pl_old")
    appeals.record_due([{**r, "plan_id": "pl_new"} for r in old])  # the day replanned, ids reused
    assert appeals.done_in_plan(inspector_id="UI-1", due={f"v{k}": due for k in range(3)}, plan_id="pl_new") == {}
    assert set(appeals.done_in_plan(inspector_id="UI-1", due={"v0": due}, plan_id="pl_old")) == {"v0"}
    frame = appeals.visit_frame(start=date(2026, 3, 1), end=date(2026, 4, 1))
    assert len(frame) == 4  # the old plan's made v0 and the new plan's three; v1, v2 of the old plan superseded
    assert int(frame["done_at"].notna().sum()) == 1
    assert appeals.visits_made(start=T0.replace(day=1), end=T0.replace(month=4, day=1), priority=None) == 1
    done = appeals.mark_done(inspector_id="UI-1", visit_ref="v0", due_date=due, done_at="2026-03-10T15:00:00+05:00",
                             plan_id="pl_new")
    assert done["plan_id"] == "pl_new"
    assert appeals.visits_made(start=T0.replace(day=1), end=T0.replace(month=4, day=1), priority=None) == 2


def test_visits_kept_before_the_plan_key_are_copied(tmp_path: Path, city) -> None:
    """A store from before visits were keyed by plan: its rows are copied into the new table
    once (plan ""), and the old table is left as it was."""
    import sqlite3  # noqa: PLC0415 - only this test writes the old table by hand

    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE visit_records (inspector_id VARCHAR(200) NOT NULL, visit_ref VARCHAR(64) NOT NULL, "
                "due_date DATE NOT NULL, precinct_id VARCHAR(200) NOT NULL, priority INTEGER NOT NULL, "
                "plan_id VARCHAR(40), done_at DATETIME, PRIMARY KEY (inspector_id, visit_ref, due_date))")
    con.execute("INSERT INTO visit_records VALUES ('UI-1', 'a', '2026-03-10', 'P-01', 1, NULL, "
                "'2026-03-10 05:00:00.000000')")
    con.execute("INSERT INTO visit_records VALUES ('UI-1', 'b', '2026-03-10', 'P-01', 1, 'pl_x', NULL)")
    con.commit()
    con.close()
    store = Store(f"sqlite:///{db}")
    try:
        appeals = AppealStore(store, city=city)
        frame = appeals.visit_frame(start=date(2026, 3, 1), end=date(2026, 4, 1))
        assert len(frame) == 2 and int(frame["done_at"].notna().sum()) == 1
        assert set(appeals.done_in_plan(inspector_id="UI-1", due={"b": "2026-03-10"}, plan_id="pl_x")) == set()
        AppealStore(store, city=city)  # again: nothing copied twice
        assert len(appeals.visit_frame(start=date(2026, 3, 1), end=date(2026, 4, 1))) == 2
    finally:
        store.close()
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM visit_records").fetchone() == (2,)
    con.close()

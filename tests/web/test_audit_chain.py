"""The audit log (issue 23): every access and change has its row, in the change's transaction;
rows are hash-chained and a row edited or deleted behind the service's back is found; two
writers keep one chain."""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from geo_service.store import Store
from geo_service.web.context import STORE_EXT, appeal_store
from tests.conftest import grid_latlon, pg_url

DAY = "2026-11-20"
NOW = "2026-11-20T12:00:00+05:00"


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return tmp_path / "gs.db"


@pytest.fixture()
def app(built_tiny: Path, db: Path):
    from geo_service import create_app

    return create_app({"BUNDLE": str(built_tiny), "TESTING": True, "DATABASE_URL": f"sqlite:///{db}",
                       "BUNDLE_POLL_SECONDS": 0})


def _ui1(app) -> dict[str, str]:
    _, token = app.extensions[STORE_EXT].create_credential(name="ui1", role="inspector", kind="user_token",
                                                          subject="UI-1", precinct_ids=["P-01"])
    return {"Authorization": f"Bearer {token}"}


def _plan(client, headers: dict[str, str]) -> str:
    visits = [{"id": f"v{k}", "lat": grid_latlon(0.5 + k, 0.3)[0], "lon": grid_latlon(0.5 + k, 0.3)[1],
               "minutes": 10} for k in range(2)]
    resp = client.post("/api/v1/routes/plan", json={"inspector_id": "UI-1", "date": DAY, "visits": visits,
                                                    "include_appeals": False}, headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def _rows(app) -> list[tuple[str, str, str]]:
    return [(r["action"], str(r["record_id"]), r["outcome"]) for r in app.extensions[STORE_EXT].audit_records()]


@pytest.mark.now(NOW)
def test_refused_reads_and_listings_are_audited(app) -> None:
    client = app.test_client()
    ui1 = _ui1(app)
    pid = _plan(client, ui1)
    assert client.get(f"/api/v1/routes/plans/{pid}").status_code == 401
    assert client.get(f"/api/v1/routes/plans/{pid}", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/appeals", headers=ui1).status_code == 200
    rows = _rows(app)
    assert ("access", "routes.get_plan", "denied:anonymous") in rows
    assert ("access", "routes.get_plan", "denied:credentials") in rows
    assert ("appeal.list", "P-01", "ok:0") in rows
    assert ("plan.create", pid, "ok") in rows
    assert app.extensions[STORE_EXT].verify_audit().intact


@pytest.mark.now(NOW)
def test_no_change_without_its_audit_row(app, db: Path) -> None:
    """The audit insert fails: the visit mark is not kept either (it used to be, with a 500)."""
    client = app.test_client()
    ui1 = _ui1(app)
    pid = _plan(client, ui1)
    with sqlite3.connect(db) as raw:  # behind the service's back: every audit insert fails
        raw.execute("CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'no'); END")
    before = len(_rows(app))
    r = client.post(f"/api/v1/routes/plans/{pid}/visits/v0/done", headers=ui1)
    assert r.status_code >= 500
    with sqlite3.connect(db) as raw:
        raw.execute("DROP TRIGGER audit_refused")
    with app.test_request_context():
        kept = app.extensions[STORE_EXT].get_plan(pid)
        assert appeal_store().done_in_plan(inspector_id="UI-1", due=kept.body["due"], plan_id=pid) == {}
    assert len(_rows(app)) == before
    # The same request with the audit log working: the mark and its row, together.
    assert client.post(f"/api/v1/routes/plans/{pid}/visits/v0/done", headers=ui1).status_code == 200
    assert _rows(app)[-2:] == [("plan.visit_done", pid, "ok"), ("visit.done", pid, "ok")]
    # A request that fails after its access was checked records the attempt as failed, no change.
    bad = client.post(f"/api/v1/routes/plans/{pid}/visits/v1/done", json={"done_at": "yesterday"}, headers=ui1)
    assert bad.status_code == 400
    assert _rows(app)[-1] == ("plan.visit_done", pid, "failed:400")
    assert app.extensions[STORE_EXT].verify_audit().intact


@pytest.mark.now(NOW)
def test_verify_finds_a_row_edited_or_deleted_behind_the_services_back(app, db: Path, tmp_path: Path) -> None:
    client = app.test_client()
    ui1 = _ui1(app)
    pid = _plan(client, ui1)
    for _ in range(3):
        assert client.get(f"/api/v1/routes/plans/{pid}", headers=ui1).status_code == 200
    store = app.extensions[STORE_EXT]
    report = store.verify_audit()
    n = report.rows
    assert report.intact and n >= 4 and report.line() == f"audit chain intact: {n} rows"

    def tampered(sql: str) -> Store:
        copy = tmp_path / f"{secrets.token_hex(4)}.db"
        with sqlite3.connect(db) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)  # the database with its write-ahead log
        with sqlite3.connect(copy) as raw:
            raw.execute("DROP TRIGGER audit_log_no_update")
            raw.execute("DROP TRIGGER audit_log_no_delete")
            raw.execute(sql)
        return Store(f"sqlite:///{copy}")

    edited = tampered("UPDATE audit_log SET outcome = 'denied' WHERE id = 2").verify_audit()
    assert (edited.broken_id, edited.intact) == (2, False) and "edited" in edited.why
    rehashed = tampered("UPDATE audit_log SET principal = 'user:X', hash = 'f' || substr(hash, 2) WHERE id = 2")
    assert rehashed.verify_audit().broken_id == 2
    deleted = tampered("DELETE FROM audit_log WHERE id = 3").verify_audit()
    assert deleted.broken_id == 4 and "missing" in deleted.why
    cut = tampered(f"DELETE FROM audit_log WHERE id = {n}").verify_audit()
    assert cut.broken_id == n and "missing" in cut.why
    forged = tampered("UPDATE audit_log SET prev_hash = hash WHERE id = 3").verify_audit()
    assert forged.broken_id == 3


def _append_from_two_writers(a: Store, b: Store, n: int = 40) -> None:
    def write(s: Store, who: str) -> None:
        for k in range(n):
            s.audit(principal=who, action="read", outcome="ok", record_id=str(k))

    threads = [threading.Thread(target=write, args=(s, f"w{i}")) for i, s in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_two_sqlite_writers_keep_one_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gs.db'}"
    a, b = Store(url), Store(url)
    _append_from_two_writers(a, b)
    report = a.verify_audit()
    assert report.intact and report.rows == 80, report.line()


@pytest.fixture()
def pg_stores():
    schema = f"gs_chain_{os.getpid()}_{secrets.token_hex(4)}"
    a = Store(pg_url(), schema=schema)
    b = Store(a.url, schema=schema)
    try:
        yield a, b
    finally:
        b.close()
        a.drop_all()
        a.close()


def test_two_postgresql_instances_keep_one_chain_and_the_owner_cannot_hide_an_edit(pg_stores) -> None:
    a, b = pg_stores
    _append_from_two_writers(a, b)
    report = b.verify_audit()
    assert report.intact and report.rows == 80, report.line()
    q = f'"{a.schema}".audit_log'
    with a.engine.begin() as conn:  # the owner (a superuser here), triggers switched off
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"UPDATE {q} SET outcome = 'denied' WHERE id = 7"))
    assert a.verify_audit().broken_id == 7
    with a.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"DELETE FROM {q} WHERE id = 7"))
    broken = a.verify_audit()
    assert broken.broken_id == 8 and "missing" in broken.why


def test_an_audit_log_from_before_the_chain_is_taken_over(tmp_path: Path) -> None:
    """A database kept by an older version: its rows stay (unchained, counted apart) and the
    chain starts after them."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at DATETIME NOT NULL, principal VARCHAR(200) "
                    "NOT NULL, action VARCHAR(64) NOT NULL, record_type VARCHAR(64), record_id VARCHAR(200), "
                    "remote_addr VARCHAR(64), outcome VARCHAR(64) NOT NULL)")
        raw.execute("INSERT INTO audit_log VALUES (1, '2026-01-01 10:00:00.000000', 'x', 'read', NULL, NULL, NULL, "
                    "'ok')")
    s = Store(f"sqlite:///{path}")
    assert s.audit(principal="y", action="read", outcome="ok") == 2
    report = s.verify_audit()
    assert report.intact and (report.rows, report.unchained) == (1, 1), report.line()
    assert "1 earlier rows from before the chain" in report.line()

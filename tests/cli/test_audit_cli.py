"""`geo-service audit verify` and `geo-service db init` (issue 23): the chain checked from the
command line, and the service's PostgreSQL role that may only read and append audit rows."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from geo_service.appeals.store import AppealStore
from geo_service.cli import main
from geo_service.jobs.table import JobStore
from geo_service.store import Store
from tests.conftest import pg_url


def test_audit_verify_reports_intact_then_the_first_broken_row(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "gs.db"
    url = f"sqlite:///{path}"
    store = Store(url)
    for k in range(5):
        store.audit(principal="user:UI-1", action="plan.read", record_type="plan", record_id=f"pl_{k}", outcome="ok")
    store.close()
    assert main(["audit", "verify", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() == "audit chain intact: 5 rows"
    with sqlite3.connect(path) as raw:  # behind the service's back
        raw.execute("DROP TRIGGER audit_log_no_delete")
        raw.execute("DELETE FROM audit_log WHERE id = 3")
    assert main(["audit", "verify", "--database-url", url]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("audit chain broken at row 4:") and "missing" in err, err
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TRIGGER audit_log_no_update")
        raw.execute("UPDATE audit_log SET record_id = 'pl_x' WHERE id = 2")
    assert main(["audit", "verify", "--database-url", url]) == 1
    assert "row 2: its fields do not match its hash" in capsys.readouterr().err


def test_db_init_needs_postgresql_and_a_plain_role_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "init", "--url", "sqlite:///x.db", "--app-role", "gs_app"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err
    assert main(["db", "init", "--url", "postgresql+psycopg://x@127.0.0.1/x", "--app-role", 'a"; DROP']) == 2
    assert "--app-role" in capsys.readouterr().err


@pytest.fixture()
def scratch_db():
    """A throwaway database and role name on the test server, dropped afterwards."""
    base = pg_url()
    name = f"gs_init_{secrets.token_hex(4)}"
    role = f"gs_app_{secrets.token_hex(4)}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False), role
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def test_db_init_creates_an_app_role_that_may_only_read_and_append_audit_rows(
        scratch_db: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    owner_url, role = scratch_db
    assert main(["db", "init", "--url", owner_url, "--app-role", role]) == 0
    out = capsys.readouterr().out
    app_url = next(line.split("=", 1)[1] for line in out.splitlines() if line.startswith("DATABASE_URL="))
    assert make_url(app_url).username == role and make_url(app_url).password
    assert main(["db", "init", "--url", owner_url, "--app-role", role]) == 0  # again: nothing breaks
    assert "existed already" in capsys.readouterr().out

    # The service as the app role: no DDL needed, everything it does works.
    store = Store(app_url)
    try:
        cid, token = store.create_credential(name="k", role="planner")
        assert store.verify(token) is not None and store.revoke(cid).revoked_at
        pid = store.save_plan(precinct_id="P-01", inspector_id="UI-1", created_by="x", body={"a": 1})
        lid, link, _ = store.create_link(plan_id=pid, credential_id=None, created_by="x", ttl_s=60)
        assert store.open_link(link) == (pid, "ok") and store.revoke_link(lid)["revoked_at"]
        store.audit(principal="x", action="read", outcome="ok")
        appeals = AppealStore(store)
        appeals.record_due([{"inspector_id": "UI-1", "visit_ref": "v0", "due_date": "2026-11-20",
                             "precinct_id": "P-01", "priority": 2, "plan_id": pid}])
        assert appeals.unmark_done(inspector_id="UI-1", visit_ref="v0", due_date="2026-11-20", plan_id=pid)
        jobs = JobStore(store)  # the jobs table is made and granted by db init too
        jobs.create("job-1", kind="balance", created_by="x", role="planner", inputs={})
        assert jobs.table.name == "jobs"
        for stmt in ("DELETE FROM audit_log", "UPDATE audit_log SET outcome = 'x'", "TRUNCATE audit_log",
                     "DROP TRIGGER audit_log_append_only ON audit_log", "ALTER TABLE audit_log DISABLE TRIGGER ALL",
                     "DELETE FROM audit_head", "CREATE TABLE x (a int)"):
            with pytest.raises(DBAPIError, match="permission denied|must be owner"), store.engine.begin() as conn:
                conn.execute(text(stmt))
        assert store.verify_audit().intact and store.verify_audit().rows == 1
    finally:
        store.close()
    assert main(["audit", "verify", "--database-url", app_url]) == 0
    assert capsys.readouterr().out.strip() == "audit chain intact: 1 rows"

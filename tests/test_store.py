"""The store: credentials, route links, plans and audit on SQLite (and PostgreSQL when reachable)."""

from __future__ import annotations

import csv
import io
import os
import secrets
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo_service.errors import InputError, NotFound
from geo_service.store import Store, hash_token
from tests.conftest import pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'gs.db'}")
        yield s
        s.close()
    else:
        s = Store(pg_url(), schema=f"gs_test_{os.getpid()}_{secrets.token_hex(4)}")
        try:
            yield s
        finally:
            s.drop_all()
            s.close()


def test_credential_token_is_shown_once_and_only_its_hash_kept(store: Store) -> None:
    cid, token = store.create_credential(name="1C integration", role="external_system", scopes=["lookup:batch"])
    assert len(token) > 40
    with store.engine.connect() as conn:
        row = conn.execute(text(f"SELECT * FROM {store.credentials.fullname} WHERE id = :i"), {"i": cid}).one()
    assert token not in [str(v) for v in row]
    assert row.key_hash == hash_token(token)
    cred = store.verify(token)
    assert cred is not None and cred.id == cid and cred.scopes == ("lookup:batch",)
    assert store.verify(token + "x") is None and store.verify("") is None


def test_revoked_and_expired_credentials_do_not_verify(store: Store) -> None:
    cid, token = store.create_credential(name="a", role="planner")
    assert store.verify(token) is not None
    assert store.revoke(cid).revoked_at is not None
    assert store.verify(token) is None
    with pytest.raises(NotFound):
        store.revoke("k_nope")
    _, short = store.create_credential(name="b", role="planner", expires_in=1)
    assert store.verify(short) is not None
    with store.engine.begin() as conn:
        conn.execute(store.credentials.update().values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert store.verify(short) is None


def test_a_revocation_by_another_instance_holds_on_the_next_call(store: Store) -> None:
    """Two instances on one database: nothing cached, so a key revoked through one is refused
    by the other at once (it used to be trusted for AUTH_CACHE_SECONDS)."""
    other = Store(store.url, schema=store.schema)
    try:
        cid, token = store.create_credential(name="a", role="planner")
        assert other.verify(token) is not None and store.verify(token) is not None
        other.revoke(cid)
        assert store.verify(token) is None
    finally:
        other.close()


def test_scopes_must_name_parts_of_the_api(store: Store) -> None:
    cid, _ = store.create_credential(name="a", role="external_system", scopes=["lookup", "routes:x", "*"])
    assert store.get_credential(cid).scopes == ("lookup", "routes:x", "*")  # type: ignore[union-attr]
    for bad in ("everything", "lookup batch", "nope:x", ""):
        with pytest.raises(InputError, match="scope"):
            store.create_credential(name="a", role="external_system", scopes=[bad])


def test_links_are_random_hashed_and_revocable(store: Store) -> None:
    cid, _ = store.create_credential(name="phone", role="planner")
    lid, token, expires = store.create_link(plan_id="pl_1", credential_id=cid, created_by="user:PL-1", ttl_s=60)
    assert token.startswith(lid + ".") and len(token) > 50 and expires > datetime.now(UTC)
    with store.engine.connect() as conn:
        row = conn.execute(text(f"SELECT * FROM {store.links.fullname} WHERE id = :i"), {"i": lid}).one()
    assert token not in [str(v) for v in row] and row.token_hash == hash_token(token)
    assert store.open_link(token) == ("pl_1", "ok")
    assert store.open_link(token[:-1] + ("A" if token[-1] != "A" else "B")) == (None, "unknown")
    assert store.open_link(lid) == (None, "unknown")  # the id alone opens nothing
    assert store.revoke_link(lid)["revoked_at"] is not None
    assert store.open_link(token) == (None, "revoked")
    with pytest.raises(NotFound):
        store.revoke_link("rl_nope")


def test_links_die_with_their_creator_and_their_time(store: Store) -> None:
    cid, _ = store.create_credential(name="phone", role="inspector", precinct_ids=["P-01"], expires_in=30)
    _, a, exp_a = store.create_link(plan_id="pl_1", credential_id=cid, created_by="user:UI-1", ttl_s=3600,
                                    not_after=store.get_credential(cid).expires_at)  # type: ignore[union-attr]
    assert exp_a <= datetime.now(UTC) + timedelta(seconds=31)  # never outlives its creator's credential
    _, b, _ = store.create_link(plan_id="pl_2", credential_id=cid, created_by="user:UI-1", ttl_s=60)
    lid_c, c, _ = store.create_link(plan_id="pl_3", credential_id=None, created_by="x", ttl_s=60)
    with store.engine.begin() as conn:
        conn.execute(store.links.update().where(store.links.c.id == lid_c)
                     .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert store.open_link(c) == (None, "expired")
    assert store.open_link(a)[0] == "pl_1" and store.open_link(b)[0] == "pl_2"
    store.revoke(cid)
    assert store.open_link(a) == (None, "creator_revoked") and store.open_link(b) == (None, "creator_revoked")


def test_bad_credential_input_is_refused(store: Store) -> None:
    with pytest.raises(InputError):
        store.create_credential(name="x", role="public")
    with pytest.raises(InputError):
        store.create_credential(name="x", role="inspector")  # no precincts
    with pytest.raises(InputError):
        store.create_credential(name="x" * 500, role="admin")
    with pytest.raises(InputError):
        store.create_credential(name="x", role="admin", rate_limit="lots")


def test_audit_is_append_only(store: Store) -> None:
    store.audit(principal="user:UI-1", action="read", record_type="plan", record_id="pl_1", outcome="ok",
                remote_addr="10.0.0.1")
    assert not hasattr(store, "delete_audit") and not hasattr(store, "update_audit")
    for stmt in (store.audit_log.update().values(outcome="edited"), store.audit_log.delete()):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(stmt)
    assert [r["outcome"] for r in store.audit_records()] == ["ok"]


def test_audit_export_csv_since_and_formula_defused(store: Store, tmp_path: Path) -> None:
    store.audit(principal="user:UI-1", action="read", record_type="plan", record_id="=HYPERLINK(1)", outcome="ok")
    store.audit(principal="key:k_1", action="read", record_type="plan", record_id="pl_2", outcome="denied")
    buf = io.StringIO()
    assert store.audit_export(buf) == 2
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert rows[0]["record_id"] == "'=HYPERLINK(1)" and rows[1]["outcome"] == "denied"
    assert store.audit_export(tmp_path / "a.csv", since=datetime.now(UTC) + timedelta(hours=1)) == 0
    assert stat.S_IMODE((tmp_path / "a.csv").stat().st_mode) == 0o600


def test_plans_round_trip(store: Store) -> None:
    body = {"stops": [{"address": "Абая 150", "lat": 43.25, "lon": 76.9}], "total_s": 1200}
    pid = store.save_plan(precinct_id="P-01", inspector_id="UI-1", created_by="user:PL-1", body=body)
    plan = store.get_plan(pid)
    assert plan is not None and plan.body == body and plan.inspector_id == "UI-1"
    assert store.get_plan("pl_unknown") is None
    assert [p.id for p in store.list_plans(precinct_ids=["P-01"])] == [pid]
    assert store.list_plans(precinct_ids=["P-02"]) == []


def test_a_kept_result_is_replaced_when_its_job_ends(store: Store) -> None:
    rid = store.save_result(kind="balance", created_by="pl", body={"status": "running"})
    assert store.update_result(rid, body={"status": "done", "summary": {"gini": 0.2, "name": "Қала"}})
    kept = store.get_result(rid, kind="balance")
    assert kept["body"] == {"status": "done", "summary": {"gini": 0.2, "name": "Қала"}}
    assert kept["created_by"] == "pl"
    assert not store.update_result("rs_unknown", body={"status": "done"})


def test_secret_key_is_generated_once(store: Store) -> None:
    assert store.secret_key() == store.secret_key()


def test_everything_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "gs.db"
    s = Store(f"sqlite:///{path}")
    cid, token = s.create_credential(name="k", role="external_system")
    pid = s.save_plan(precinct_id="P-01", inspector_id=None, created_by="x", body={"a": 1})
    s.audit(principal="x", action="read", outcome="ok")
    secret = s.secret_key()
    s.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    s2 = Store(f"sqlite:///{path}")
    try:
        assert s2.verify(token) is not None and s2.verify(token).id == cid  # type: ignore[union-attr]
        assert s2.get_plan(pid).body == {"a": 1}  # type: ignore[union-attr]
        assert len(s2.audit_records()) == 1 and s2.secret_key() == secret
    finally:
        s2.close()


def test_schema_name_is_checked() -> None:
    with pytest.raises(InputError):
        Store("postgresql+psycopg://x@127.0.0.1/test", schema="a; DROP TABLE x")


def test_in_memory_store_keeps_writes_made_while_another_thread_reads() -> None:
    # A background job writes its result while request threads poll for it. An in-memory
    # SQLite database shared one connection among threads, and a reader returning it rolled
    # back the writer's open transaction: the job's result stayed "running".
    import threading

    store = Store("sqlite://")
    rids = [store.save_result(kind="balance", created_by="t", body={"status": "running"}) for _ in range(200)]

    def writer() -> None:
        for rid in rids:
            store.update_result(rid, body={"status": "done"})

    t = threading.Thread(target=writer)
    t.start()
    while t.is_alive():
        for rid in rids[:3]:
            store.get_result(rid)
    t.join()
    assert [store.get_result(r)["body"]["status"] for r in rids] == ["done"] * len(rids)

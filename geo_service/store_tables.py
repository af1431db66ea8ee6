"""The store's SQL tables, the audit log's guards, and the schema check made at start-up.

Tables: ``credentials``, ``audit_log`` (hash-chained rows: `geo_service.audit_chain`),
``audit_head`` (one row: the chain's last id and hash; appending locks it), ``route_links``
(a route page link's hashed token, its plan, its creator), ``plans``, ``results``, ``meta``,
``sessions`` (a browser sign-in: the session id's SHA-256, its credential, its expiry) and
``passwords`` (a salted scrypt hash an admin set for a user credential).

The audit log refuses UPDATE, DELETE and TRUNCATE by triggers (both dialects) and, on
PostgreSQL, by privileges: `geo_service.cli.audit` (``geo-service db init``) creates the
tables as their owner and an app role that may only SELECT and INSERT audit rows. A store
opened on a complete schema issues no DDL at all, so the app role can open it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

#: The longest free text a row keeps.
MAX_TEXT = 200
#: The hash the first chained audit row carries as its previous one.
GENESIS = "0" * 64


def metadata(schema: str | None) -> tuple[MetaData, dict[str, Table]]:
    """The store's tables in a MetaData of ``schema``, by table name."""
    md = MetaData(schema=schema)
    credentials = Table(
        "credentials", md,
        Column("id", String(40), primary_key=True),
        Column("kind", String(16), nullable=False),
        Column("name", String(MAX_TEXT), nullable=False),
        Column("key_hash", String(64), nullable=False, unique=True),
        Column("role", String(32), nullable=False),
        Column("subject", String(MAX_TEXT)),
        Column("scopes", Text, nullable=False, default="[]"),
        Column("precinct_ids", Text, nullable=False, default="[]"),
        Column("rate_limit", String(64)),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("revoked_at", DateTime(timezone=True)),
        Column("expires_at", DateTime(timezone=True)),
    )
    audit = Table(
        "audit_log", md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("principal", String(MAX_TEXT), nullable=False),
        Column("action", String(64), nullable=False),
        Column("record_type", String(64)),
        Column("record_id", String(MAX_TEXT)),
        Column("remote_addr", String(64)),
        Column("outcome", String(64), nullable=False),
        Column("prev_hash", String(64)),
        Column("hash", String(64)),
        Index("ix_audit_at", "at"),
    )
    head = Table(
        "audit_head", md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("last_id", Integer, nullable=False),
        Column("last_hash", String(64), nullable=False),
    )
    links = Table(
        "route_links", md,
        Column("id", String(40), primary_key=True),
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("plan_id", String(40), nullable=False),
        Column("credential_id", String(40)),
        Column("created_by", String(MAX_TEXT), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Column("revoked_at", DateTime(timezone=True)),
        Index("ix_route_links_plan", "plan_id"),
        Index("ix_route_links_credential", "credential_id"),
    )
    plans = Table(
        "plans", md,
        Column("id", String(40), primary_key=True),
        Column("precinct_id", String(MAX_TEXT), nullable=False),
        Column("inspector_id", String(MAX_TEXT)),
        Column("created_by", String(MAX_TEXT), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("body", Text, nullable=False),
        Index("ix_plans_precinct", "precinct_id"),
    )
    results = Table(
        "results", md,
        Column("id", String(40), primary_key=True),
        Column("kind", String(32), nullable=False),
        Column("created_by", String(MAX_TEXT), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("body", Text, nullable=False),
    )
    meta = Table(
        "meta", md,
        Column("name", String(64), primary_key=True),
        Column("value", Text, nullable=False),
    )
    sessions = Table(
        "sessions", md,
        Column("id", String(40), primary_key=True),  # not secret: names the session in the audit log
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("credential_id", String(40), nullable=False),
        Column("method", String(16), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Index("ix_sessions_credential", "credential_id"),
        Index("ix_sessions_expires", "expires_at"),
    )
    passwords = Table(
        "passwords", md,
        Column("credential_id", String(40), primary_key=True),
        Column("hash", String(MAX_TEXT), nullable=False),
        Column("set_at", DateTime(timezone=True), nullable=False),
    )
    return md, {t.name: t for t in (credentials, audit, head, links, plans, results, meta, sessions, passwords)}


_TRIGGERS = ("audit_log_no_update", "audit_log_no_delete", "audit_head_no_delete")

_SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON audit_head "
    "BEGIN SELECT RAISE(ABORT, 'audit_head is kept'); END",
]


def _q(schema: str | None) -> str:
    return f'"{schema}".' if schema else ""


def _pg_triggers(schema: str | None) -> list[str]:
    q = _q(schema)
    return [
        f"CREATE OR REPLACE FUNCTION {q}audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        f"DROP TRIGGER IF EXISTS audit_log_append_only ON {q}audit_log",
        f"CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON {q}audit_log "
        f"FOR EACH ROW EXECUTE FUNCTION {q}audit_log_append_only()",
        f"DROP TRIGGER IF EXISTS audit_log_no_truncate ON {q}audit_log",
        f"CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON {q}audit_log "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {q}audit_log_append_only()",
        f"DROP TRIGGER IF EXISTS audit_head_no_delete ON {q}audit_head",
        f"CREATE TRIGGER audit_head_no_delete BEFORE DELETE OR TRUNCATE ON {q}audit_head "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {q}audit_log_append_only()",
    ]


_PG_TRIGGER_NAMES = ("audit_log_append_only", "audit_log_no_truncate", "audit_head_no_delete")


def schema_ready(conn: Any, tables: dict[str, Table], schema: str | None) -> bool:
    """Whether every table, column, guard and the chain head exist (then no DDL is needed)."""
    insp = inspect(conn)
    if any(not insp.has_table(name, schema=schema) for name in tables):
        return False
    if not {"prev_hash", "hash"} <= {c["name"] for c in insp.get_columns("audit_log", schema=schema)}:
        return False
    if conn.dialect.name == "sqlite":
        n = conn.execute(text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN "
                              "('audit_log_no_update', 'audit_log_no_delete', 'audit_head_no_delete')")).scalar()
        want = len(_TRIGGERS)
    else:
        n = conn.execute(text(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace s ON s.oid = c.relnamespace "
            "WHERE s.nspname = coalesce(:schema, current_schema()) AND t.tgname = ANY(:names)"),
            {"schema": schema, "names": list(_PG_TRIGGER_NAMES)}).scalar()
        want = len(_PG_TRIGGER_NAMES)
    if n != want:
        return False
    return conn.execute(select(tables["audit_head"].c.id)).first() is not None


#: The advisory lock that serialises table creation across processes on one PostgreSQL.
DDL_LOCK_KEY = 0x67656F5F646466  # "geo_ddf"


def lock_ddl(conn: Any) -> None:
    """Serialise creating tables with every other instance (until this transaction ends).

    Two servers starting at once on one PostgreSQL both see a table missing and both create
    it: the second fails ("duplicate key value violates unique constraint
    pg_type_typname_nsp_index"). Taken first in the creating transaction, with ``create_all``
    checking again after it, the second waits and then finds the tables. SQLite serialises
    writers itself.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": DDL_LOCK_KEY})


def create_schema(conn: Any, md: MetaData, tables: dict[str, Table], schema: str | None) -> None:
    """Create what is missing (needs the tables' owner): tables, the chain columns of an
    audit log from before the chain, the guards, and the chain head."""
    sqlite = conn.dialect.name == "sqlite"
    lock_ddl(conn)
    if schema:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    md.create_all(conn)
    have = {c["name"] for c in inspect(conn).get_columns("audit_log", schema=schema)}
    for col in ("prev_hash", "hash"):
        if col not in have:  # an audit log kept before the chain: its rows stay unchained
            conn.execute(text(f"ALTER TABLE {_q(schema)}audit_log ADD COLUMN {col} VARCHAR(64)"))
    for stmt in (_SQLITE_TRIGGERS if sqlite else _pg_triggers(schema)):
        conn.execute(text(stmt))
    audit, head = tables["audit_log"], tables["audit_head"]
    if conn.execute(select(head.c.id)).first() is None:
        last = conn.execute(select(audit.c.id, audit.c.hash).order_by(audit.c.id.desc()).limit(1)).first()
        last_id = int(last.id) if last is not None else 0
        last_hash = last.hash if last is not None and last.hash else GENESIS
        try:
            with conn.begin_nested():
                conn.execute(insert(head).values(id=1, last_id=last_id, last_hash=last_hash))
        except IntegrityError:  # another instance created it meanwhile
            pass


def grant_app_role(conn: Any, tables: dict[str, Table], schema: str | None, role: str,
                   more_tables: list[str]) -> None:
    """Least privileges for the service's own login role on PostgreSQL: SELECT and INSERT on
    the audit log, SELECT and UPDATE on its head (``FOR UPDATE`` needs UPDATE), SELECT,
    INSERT, UPDATE and DELETE on the other tables (``more_tables``: the appeals store's),
    USAGE on the sequences those need. Nothing else: no TRUNCATE, no DDL, no ownership."""
    q = _q(schema)
    r = f'"{role}"'
    space = schema or conn.execute(text("SELECT current_schema()")).scalar()
    conn.execute(text(f'GRANT USAGE ON SCHEMA "{space}" TO {r}'))
    names = [n for n in tables if n not in ("audit_log", "audit_head")] + more_tables
    conn.execute(text(f"REVOKE ALL ON {q}audit_log, {q}audit_head FROM {r}"))
    conn.execute(text(f"GRANT SELECT, INSERT ON {q}audit_log TO {r}"))
    conn.execute(text(f"GRANT SELECT, UPDATE ON {q}audit_head TO {r}"))
    for name in names:
        conn.execute(text(f"REVOKE ALL ON {q}{name} FROM {r}"))
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {q}{name} TO {r}"))
    seqs = conn.execute(text(
        "SELECT s.relname FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace "
        "WHERE s.relkind = 'S' AND n.nspname = coalesce(:schema, current_schema())"), {"schema": schema}).scalars()
    for seq in seqs:
        conn.execute(text(f'GRANT USAGE ON SEQUENCE {q}"{seq}" TO {r}'))


__all__ = ["DDL_LOCK_KEY", "GENESIS", "MAX_TEXT", "create_schema", "grant_app_role", "lock_ddl", "metadata",
           "schema_ready"]

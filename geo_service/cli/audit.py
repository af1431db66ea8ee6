"""``geo-service audit verify`` and ``geo-service db init``: the audit chain and the database's roles.

``audit verify`` walks the hash-chained audit log (`geo_service.audit_chain`) and prints
``audit chain intact: N rows`` (exit 0) or the first broken row and why (exit 1).

``db init --url OWNER_URL --app-role NAME`` (PostgreSQL) creates every table as the owner
the URL connects as, and a login role for the service with least privileges: SELECT and
INSERT on the audit log, SELECT and UPDATE on its one-row head, SELECT, INSERT, UPDATE and
DELETE on the other tables, nothing else (no DELETE, UPDATE or TRUNCATE of audit rows, no
DDL). A new role's password is generated and printed once. The service then connects as
that role (``DATABASE_URL``); migrations run as the owner.
"""

from __future__ import annotations

import re
import secrets
import sys
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url

from geo_service.appeals.store import AppealStore
from geo_service.appeals.tables import tables as appeal_tables
from geo_service.cli.keys import cli_store
from geo_service.errors import InputError
from geo_service.jobs.table import JobStore
from geo_service.store import Store
from geo_service.store_tables import grant_app_role

_ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def cli_audit_verify(*, database_url: str | None = None, out: Any = None) -> int:
    """Check the audit chain; print one line; 0 when intact, 1 at the first broken row."""
    out = out or sys.stdout
    store = cli_store(database_url)
    try:
        report = store.verify_audit()
    finally:
        store.close()
    print(report.line(), file=out if report.intact else sys.stderr)
    return 0 if report.intact else 1


def cli_db_init(*, url: str, app_role: str, schema: str | None = None, out: Any = None) -> int:
    """Create the tables as the owner ``url`` connects as, and the service's least-privileged role."""
    out = out or sys.stdout
    if not url.startswith("postgresql"):
        msg = "--url must be a PostgreSQL URL (postgresql+psycopg://owner@host/db): roles need PostgreSQL"
        raise InputError(msg)
    if not _ROLE_RE.match(app_role):
        msg = "--app-role must be 1-63 lower-case letters, digits and _, not starting with a digit"
        raise InputError(msg)
    store = Store(url, schema=schema)
    try:
        AppealStore(store)  # the appeals store's and the jobs' tables, created as the owner too
        jobs = JobStore(store)
        more = [t.name for t in appeal_tables(MetaData()).values()] + [jobs.table.name]
        password = None
        with store.engine.begin() as conn:
            owner = conn.execute(text("SELECT current_user")).scalar()
            if owner == app_role:
                msg = "--app-role must differ from the owner the URL connects as"
                raise InputError(msg)
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": app_role}).first() is None:
                password = secrets.token_urlsafe(24)  # letters, digits, - and _: safe inside quotes
                conn.execute(text(f"CREATE ROLE \"{app_role}\" LOGIN PASSWORD '{password}'"))
            grant_app_role(conn, store.tables, schema, app_role, more)
            if schema:  # the service names no schema: its role finds the tables by its search path
                conn.execute(text(f'ALTER ROLE "{app_role}" SET search_path = "{schema}"'))
    finally:
        store.close()
    where = f"schema {schema}" if schema else "the default schema"
    print(f"tables ready in {where}, owned by {owner}", file=out)
    print(f"role {app_role}: SELECT, INSERT on audit_log; SELECT, UPDATE on audit_head; "
          "SELECT, INSERT, UPDATE, DELETE on the other tables", file=out)
    if password is not None:
        app_url = make_url(url).set(username=app_role, password=password)
        print(f"DATABASE_URL={app_url.render_as_string(hide_password=False)}", file=out)
        print("(the password is shown only now; keep it in a secret store)", file=out)
    else:
        print(f"role {app_role} existed already: its password is unchanged", file=out)
    return 0


__all__ = ["cli_audit_verify", "cli_db_init"]

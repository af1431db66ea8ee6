"""``geo-service keys create``, ``keys password`` and ``audit export``: credentials, sign-in
passwords and the audit log,
straight on the store (no app, no request). A key and its audit row are written in one
transaction (`geo_service.unit`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from geo_service.config import SETTINGS, load_config
from geo_service.errors import InputError
from geo_service.store import Store, default_sqlite_path, open_store
from geo_service.unit import unit_of_work


def cli_store(database_url: str | None) -> Store:
    """The store the service uses: ``--database-url``, else ``DATABASE_URL``, else the app's SQLite file."""
    url = database_url or load_config().get("DATABASE_URL")
    if not url:
        # The instance folder of the app `geo_service.web.app.make_app` builds: the same database.
        url = f"sqlite:///{default_sqlite_path(Flask('geo_service').instance_path)}"
    return open_store(url)


def cli_create_key(*, name: str, role: str, kind: str = "api_key", subject: str | None = None,
                   scopes: Sequence[str] = (), precinct_ids: Sequence[str] = (),
                   expires_in: float | None = None, rate_limit: str | None = None,
                   database_url: str | None = None, out: Any = None) -> int:
    """Create a credential and print its id and token (the only time the token is shown)."""
    out = out or sys.stdout
    if expires_in is None:
        expires_in = SETTINGS["API_KEY_TTL" if kind == "api_key" else "TOKEN_TTL"][0]
    store = cli_store(database_url)
    try:
        with unit_of_work():
            cid, token = store.create_credential(name=name, role=role, kind=kind, subject=subject, scopes=scopes,
                                                 precinct_ids=precinct_ids, expires_in=expires_in,
                                                 rate_limit=rate_limit)
            store.audit(principal="cli", action="create_key", record_type="credential", record_id=cid,
                        outcome="ok")
    finally:
        store.close()
    print(f"id: {cid}\ntoken: {token}\n(the token is shown only now; keep it in a secret store)", file=out)
    return 0


#: The shortest sign-in password `cli_set_password` accepts.
MIN_PASSWORD = 12


def cli_set_password(credential_id: str, *, from_stdin: bool = False, database_url: str | None = None,
                     out: Any = None, read: Any = None) -> int:
    """Set the browser sign-in password of a user credential (`geo_service.web.sessions.set_password`:
    a salted scrypt hash; the password is never printed, logged or audited). Asked twice on the
    terminal, or read from stdin's first line with ``from_stdin``."""
    from geo_service.web.sessions import set_password  # noqa: PLC0415 - Flask only for this command

    out = out or sys.stdout
    if read is not None:
        password = read()
    elif from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass  # noqa: PLC0415 - only here

        password = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != password:
            msg = "the two passwords differ; nothing was changed"
            raise InputError(msg)
    if not MIN_PASSWORD <= len(password) <= 200:
        msg = f"the password must be {MIN_PASSWORD} to 200 characters long"
        raise InputError(msg)
    store = cli_store(database_url)
    try:
        cred = store.get_credential(credential_id)
        if cred is None or not cred.active():
            msg = f"no active credential {credential_id[:40]!r} (see GET /admin/keys)"
            raise InputError(msg)
        if cred.kind != "user_token" or cred.role == "external_system":
            msg = "a password is for a person's user token (inspector, planner, admin), not an API key"
            raise InputError(msg)
        with unit_of_work():
            set_password(store, cred.id, password)
            store.audit(principal="cli", action="set_password", record_type="credential", record_id=cred.id,
                        outcome="ok")
    finally:
        store.close()
    print(f"password set for {cred.id} ({cred.role}); sign in at /sign-in with "
          f"{cred.subject or cred.name!r} and it", file=out)
    return 0


def cli_audit_export(*, out_path: str, since: str | None = None, database_url: str | None = None) -> int:
    """Write the audit log (from ISO date/time ``since``) as CSV; print the row count."""
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError as exc:
            msg = f"--since {since!r} is not an ISO date such as 2026-01-31 or 2026-01-31T08:00"
            raise InputError(msg) from exc
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    store = cli_store(database_url)
    try:
        n = store.audit_export(out_path, since=start)
    finally:
        store.close()
    print(f"wrote {n} audit records to {out_path}")
    return 0

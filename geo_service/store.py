"""The service's own database: credentials, route links, route plans, the audit log, a few settings.

SQLAlchemy 2 Core over SQLite (the embedded default, one file) or PostgreSQL (several
instances behind a load balancer: ``postgresql+psycopg://user@host/db``). Every write
is one transaction, and inside a request one transaction holds all its writes and their
audit rows (`geo_service.unit`). Framework-free: the web layer is in
`geo_service.web.security`; the tables are in `geo_service.store_tables`.

Secrets: a credential's token is 32 random bytes (``secrets.token_urlsafe``), shown
once by `Store.create_credential`; only its SHA-256 is stored. A route page link is a
random token too (`Store.create_link`), kept hashed with its plan and its creator: it is
refused once revoked, expired, or its creator's credential is revoked. Nothing is cached:
a revocation holds on the next request of every instance.

The audit log is append-only and hash-chained (`geo_service.audit_chain`): this module has
no update or delete for it, triggers refuse UPDATE, DELETE and TRUNCATE, and on PostgreSQL
the service's role may only INSERT and SELECT (``geo-service db init``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from limits import parse_many
from sqlalchemy import create_engine, event, insert, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError

from geo_service import audit_chain, clock
from geo_service.access import check_scope
from geo_service.errors import InputError, NotFound
from geo_service.exports import safe_cell
from geo_service.store_tables import MAX_TEXT, create_schema, metadata, schema_ready
from geo_service.unit import begin, connect, current_unit, detached

logger = logging.getLogger(__name__)

#: Roles a credential may hold (``public`` needs none).
#: Plan ids: this prefix and 24 hex digits (random; nothing personal in them).
PLAN_ID_PREFIX = "pl_"
PLAN_ID_RE = re.compile(r"^pl_[0-9a-f]{24}$")
CREDENTIAL_ROLES = ("external_system", "inspector", "planner", "admin")
KINDS = ("api_key", "user_token")
AUDIT_COLUMNS = ("id", "at", "principal", "action", "record_type", "record_id", "remote_addr", "outcome",
                 "prev_hash", "hash")
LINK_ID_PREFIX = "rl_"
_MAX_TEXT = MAX_TEXT


def hash_token(token: str) -> str:
    """Hex SHA-256 of a token (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return clock.now()


def _utc(value: datetime | None) -> datetime | None:
    """Datetimes come back naive from SQLite: they are UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Credential:
    """One API key or user token, without its secret."""

    id: str
    kind: str
    name: str
    role: str
    subject: str | None
    scopes: tuple[str, ...]
    precinct_ids: tuple[str, ...]
    rate_limit: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def active(self, now: datetime | None = None) -> bool:
        now = now or _now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without any secret."""
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {"id": self.id, "kind": self.kind, "name": self.name, "role": self.role,
                "subject": self.subject, "scopes": list(self.scopes), "precinct_ids": list(self.precinct_ids),
                "rate_limit": self.rate_limit, "created_at": iso(self.created_at),
                "expires_at": iso(self.expires_at), "revoked_at": iso(self.revoked_at),
                "active": self.active()}


@dataclass(frozen=True)
class Plan:
    """A stored route plan (its body holds personal data: addresses of visits)."""

    id: str
    precinct_id: str
    inspector_id: str | None
    created_by: str
    created_at: datetime
    body: dict[str, Any] = field(repr=False)


def default_sqlite_path(instance_path: str | os.PathLike[str] | None = None) -> Path:
    """``<instance folder>/geo-service.db`` when that folder exists, else under
    ``$XDG_DATA_HOME`` (``~/.local/share``) ``/geo-service/``."""
    if instance_path and Path(instance_path).is_dir():
        return Path(instance_path) / "geo-service.db"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "geo-service" / "geo-service.db"


class Store:
    """The database behind authentication, route links, plans and the audit log.

    Parameters
    ----------
    url
        SQLAlchemy URL: ``sqlite:///path.db``, ``sqlite://`` (private to this object and
        removed with it: a file in a temporary directory, so threads do not share one
        connection)
        or ``postgresql+psycopg://user@host:5432/db``.
    schema
        PostgreSQL schema to keep the tables in (created when absent); None: the default.
    create
        Create what is missing of the schema (needs the tables' owner). A complete schema is
        never touched, so the service's least-privileged role opens it as well.
    """

    def __init__(self, url: str, *, schema: str | None = None, create: bool = True) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if schema is not None and (not schema.replace("_", "").isalnum() or self.is_sqlite):
            msg = f"schema {schema!r} must be letters, digits and _ and needs PostgreSQL"
            raise InputError(msg)
        self.schema = schema
        self.engine = self._engine(url)
        self._md, t = metadata(schema)
        self.tables = t
        self.credentials, self.audit_log, self.audit_head, self.links, self.plans, self.results, self.meta = (
            t["credentials"], t["audit_log"], t["audit_head"], t["route_links"], t["plans"], t["results"], t["meta"])
        #: Results written by a unit not yet committed: a job's thread waits for it (`update_result`).
        self._pending: dict[str, Any] = {}
        if create:
            self._create()
        # A forked worker (gunicorn) must not reuse the parent's connections.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _dispose_in_child(ref()))

    # -- set-up ------------------------------------------------------------------------
    def _engine(self, url: str) -> Engine:
        if not self.is_sqlite:
            return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        path = url.split("///", 1)[1] if "///" in url else ""
        if path in ("", ":memory:"):
            # Private to this store and gone with it, as an in-memory database would be, but
            # a file: an in-memory SQLite database is one connection shared by every thread,
            # and a request thread returning it to the pool rolled back a background job's
            # write half-way (its result stayed "running"). A file gives each thread its own.
            scratch = tempfile.mkdtemp(prefix="geo-service-db-")  # mode 0700
            weakref.finalize(self, shutil.rmtree, scratch, ignore_errors=True)
            path = str(Path(scratch) / "store.db")
            url = f"sqlite:///{path}"
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not p.exists():  # plans and audit hold personal data: owner only
            p.touch(mode=0o600)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine

    def _create(self) -> None:
        with self.engine.connect() as conn:
            if schema_ready(conn, self.tables, self.schema):
                return
        with detached(), begin(self.engine) as conn:  # never rolled back with a failed request
            create_schema(conn, self._md, self.tables, self.schema)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def drop_all(self) -> None:
        """Drop the tables (and the schema when one was given): tests only."""
        with self.engine.begin() as conn:
            if self.schema:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            else:
                self._md.drop_all(conn)

    # -- credentials -------------------------------------------------------------------
    def create_credential(self, *, name: str, role: str, kind: str = "api_key", subject: str | None = None,
                          scopes: Sequence[str] = (), precinct_ids: Sequence[str] = (),
                          expires_in: float | None = None, rate_limit: str | None = None) -> tuple[str, str]:
        """Create an API key or user token; return ``(id, token)``. The token is not kept.

        ``expires_in`` is in seconds (None: never). An inspector's credential must name
        their precincts in ``precinct_ids``; ``subject`` is the user id (e.g. the
        inspector id of the roster) that plans are matched against. ``scopes`` limit the
        credential to those parts of the API (`geo_service.access.SCOPES`; none: its whole role).
        """
        name = _text(name, "name")
        if role not in CREDENTIAL_ROLES:
            msg = f"role must be one of {', '.join(CREDENTIAL_ROLES)}"
            raise InputError(msg)
        if kind not in KINDS:
            msg = f"kind must be one of {', '.join(KINDS)}"
            raise InputError(msg)
        scopes = [check_scope(_text(s, "scope")) for s in scopes]
        precinct_ids = [_text(p, "precinct_id") for p in precinct_ids]
        if role == "inspector" and not precinct_ids:
            msg = "an inspector's credential needs the inspector's precinct_ids"
            raise InputError(msg)
        if expires_in is not None and not (0 < float(expires_in) <= 10 * 365 * 86400):
            msg = "expires_in must be a number of seconds between 1 and ten years"
            raise InputError(msg)
        if rate_limit is not None:
            _check_rate_limit(rate_limit)
        now = _now()
        cid = ("k_" if kind == "api_key" else "u_") + secrets.token_hex(8)
        token = ("gsk_" if kind == "api_key" else "gsu_") + secrets.token_urlsafe(32)
        row = {"id": cid, "kind": kind, "name": name, "key_hash": hash_token(token), "role": role,
               "subject": _text(subject, "subject") if subject else None,
               "scopes": json.dumps(scopes), "precinct_ids": json.dumps(precinct_ids), "rate_limit": rate_limit,
               "created_at": now, "revoked_at": None,
               "expires_at": now + timedelta(seconds=float(expires_in)) if expires_in is not None else None}
        with begin(self.engine) as conn:
            conn.execute(insert(self.credentials).values(**row))
        return cid, token

    def revoke(self, credential_id: str) -> Credential:
        """Revoke a credential (kept for the record) and with it every link it made; NotFound
        when unknown. Every instance refuses it from its next request on (nothing is cached)."""
        with begin(self.engine) as conn:
            conn.execute(update(self.credentials)
                         .where(self.credentials.c.id == credential_id, self.credentials.c.revoked_at.is_(None))
                         .values(revoked_at=_now()))
            row = conn.execute(select(self.credentials).where(self.credentials.c.id == credential_id)).first()
        if row is None:
            raise NotFound("no such key")
        return _credential(row)

    def get_credential(self, credential_id: str) -> Credential | None:
        with connect(self.engine) as conn:
            row = conn.execute(select(self.credentials).where(self.credentials.c.id == credential_id)).first()
        return _credential(row) if row else None

    def list_credentials(self, *, include_revoked: bool = True) -> list[Credential]:
        """Every credential, newest first, without secrets."""
        q = select(self.credentials).order_by(self.credentials.c.created_at.desc())
        if not include_revoked:
            q = q.where(self.credentials.c.revoked_at.is_(None))
        with connect(self.engine) as conn:
            return [_credential(r) for r in conn.execute(q)]

    def verify(self, token: str) -> Credential | None:
        """The active credential a token belongs to; None when unknown, revoked or expired.

        Asked of the database every time (one indexed read): a revocation made on any
        instance holds on the next request."""
        if not token or len(token) > 200:
            return None
        with connect(self.engine) as conn:
            row = conn.execute(select(self.credentials)
                               .where(self.credentials.c.key_hash == hash_token(token))).first()
        cred = _credential(row) if row else None
        if cred is None or not cred.active():
            return None
        return cred

    # -- route links -------------------------------------------------------------------
    def create_link(self, *, plan_id: str, credential_id: str | None, created_by: str, ttl_s: float,
                    not_after: datetime | None = None) -> tuple[str, str, datetime]:
        """A route page link to a plan: ``(link id, token, expires_at)``. The token
        (``<link id>.<32 random bytes>``) is shown once; the store keeps its SHA-256, the
        plan, the creator's credential and the expiry (never after ``not_after``: the
        creator's own expiry)."""
        now = _now()
        expires = now + timedelta(seconds=float(ttl_s))
        if not_after is not None:
            expires = min(expires, not_after)
        lid = LINK_ID_PREFIX + secrets.token_hex(8)
        token = f"{lid}.{secrets.token_urlsafe(32)}"
        with begin(self.engine) as conn:
            conn.execute(insert(self.links).values(
                id=lid, token_hash=hash_token(token), plan_id=plan_id, credential_id=credential_id,
                created_by=_clip(created_by), created_at=now, expires_at=expires, revoked_at=None))
        return lid, token, expires

    def open_link(self, token: str) -> tuple[str | None, str]:
        """``(plan id, "ok")`` for a live link; ``(None, why)`` otherwise: ``unknown``,
        ``revoked``, ``expired`` or ``creator_revoked`` (its creator's credential is)."""
        if not isinstance(token, str) or not token or len(token) > 200:
            return None, "unknown"
        c = self.credentials
        q = (select(self.links, c.c.revoked_at.label("creator_revoked_at"))
             .select_from(self.links.outerjoin(c, c.c.id == self.links.c.credential_id))
             .where(self.links.c.token_hash == hash_token(token)))
        with connect(self.engine) as conn:
            row = conn.execute(q).first()
        if row is None:
            return None, "unknown"
        if row.revoked_at is not None:
            return None, "revoked"
        if row.creator_revoked_at is not None:
            return None, "creator_revoked"
        if _utc(row.expires_at) <= _now():  # type: ignore[operator]
            return None, "expired"
        return row.plan_id, "ok"

    def get_link(self, link_id: str) -> dict[str, Any] | None:
        """A link's record (no token): id, plan_id, credential_id, created_by, times."""
        if not isinstance(link_id, str) or len(link_id) > 40:
            return None
        with connect(self.engine) as conn:
            row = conn.execute(select(self.links).where(self.links.c.id == link_id)).first()
        return _link(row) if row else None

    def links_of_plan(self, plan_id: str) -> list[dict[str, Any]]:
        """The links made to a plan, newest first (no tokens)."""
        q = select(self.links).where(self.links.c.plan_id == plan_id).order_by(self.links.c.created_at.desc())
        with connect(self.engine) as conn:
            return [_link(r) for r in conn.execute(q)]

    def revoke_link(self, link_id: str) -> dict[str, Any]:
        """Revoke one link (kept for the record); NotFound when unknown."""
        with begin(self.engine) as conn:
            conn.execute(update(self.links).where(self.links.c.id == link_id, self.links.c.revoked_at.is_(None))
                         .values(revoked_at=_now()))
            row = conn.execute(select(self.links).where(self.links.c.id == link_id)).first()
        if row is None:
            raise NotFound("no such link")
        return _link(row)

    # -- audit -------------------------------------------------------------------------
    def audit(self, *, principal: str, action: str, outcome: str, record_type: str | None = None,
              record_id: str | None = None, remote_addr: str | None = None) -> int | None:
        """Append one audit record; its id. Inside a unit (a request) it is queued and
        appended with the unit's changes, in their transaction (None then)."""
        row = {"at": _now().astimezone(UTC), "principal": _clip(principal) or "", "action": _clip(action, 64),
               "record_type": _clip(record_type, 64), "record_id": _clip(record_id),
               "remote_addr": _clip(remote_addr, 64), "outcome": _clip(outcome, 64)}
        unit = current_unit()
        if unit is not None:
            unit.defer(self, row)
            return None
        with begin(self.engine) as conn:
            return self.append_audit(conn, [row])[0]

    def append_audit(self, conn: Any, rows: list[dict[str, Any]]) -> list[int]:
        """Append rows to the chain in ``conn``'s transaction (`geo_service.audit_chain.append`)."""
        return audit_chain.append(conn, self.audit_log, self.audit_head, rows)

    def verify_audit(self) -> audit_chain.ChainReport:
        """Walk the audit chain and report the first broken row (`geo_service.audit_chain.verify`)."""
        with self.engine.connect() as conn:
            head = conn.execute(select(self.audit_head).where(self.audit_head.c.id == 1)).mappings().first()
            result = conn.execution_options(yield_per=1000).execute(
                select(self.audit_log).order_by(self.audit_log.c.id))
            try:
                return audit_chain.verify(result.mappings(), head)
            finally:
                result.close()  # a break found early leaves the server-side cursor open

    def audit_records(self, *, since: datetime | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Audit records in order (oldest first), as dicts."""
        return list(self._iter_audit(since=since, limit=limit))

    def _iter_audit(self, *, since: datetime | None = None, limit: int | None = None) -> Iterator[dict[str, Any]]:
        q = select(self.audit_log).order_by(self.audit_log.c.id)
        if since is not None:
            q = q.where(self.audit_log.c.at >= (since if since.tzinfo else since.replace(tzinfo=UTC)))
        if limit is not None:
            q = q.limit(limit)
        with connect(self.engine) as conn:
            for row in conn.execution_options(yield_per=1000).execute(q):
                d = dict(row._mapping)
                d["at"] = _utc(d["at"]).isoformat()  # type: ignore[union-attr]
                yield d

    def audit_export(self, dest: str | os.PathLike[str] | IO[str], since: datetime | None = None) -> int:
        """Write the audit log (from ``since``) as CSV to a path or text file; return the row count.

        A path is written atomically (a temporary file renamed into place), owner-readable only.
        """
        if isinstance(dest, (str, os.PathLike)):
            path = Path(dest)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                    n = self._write_csv(fh, since)
                os.replace(tmp, path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            return n
        return self._write_csv(dest, since)

    def _write_csv(self, fh: IO[str], since: datetime | None) -> int:
        w = csv.DictWriter(fh, fieldnames=AUDIT_COLUMNS)
        w.writeheader()
        n = 0
        for rec in self._iter_audit(since=since):
            w.writerow({k: safe_cell(rec[k]) for k in AUDIT_COLUMNS})
            n += 1
        return n

    # -- plans -------------------------------------------------------------------------
    def save_plan(self, *, precinct_id: str, inspector_id: str | None, created_by: str,
                  body: dict[str, Any]) -> str:
        """Keep a route plan; return its id (random, unguessable, nothing personal in it)."""
        pid = PLAN_ID_PREFIX + secrets.token_hex(12)
        row = {"id": pid, "precinct_id": _text(precinct_id, "precinct_id"),
               "inspector_id": _text(inspector_id, "inspector_id") if inspector_id else None,
               "created_by": _clip(created_by), "created_at": _now(),
               "body": json.dumps(body, ensure_ascii=False, allow_nan=False)}
        with begin(self.engine) as conn:
            conn.execute(insert(self.plans).values(**row))
        return pid

    def get_plan(self, plan_id: str) -> Plan | None:
        if not isinstance(plan_id, str) or len(plan_id) > 40:
            return None
        with connect(self.engine) as conn:
            row = conn.execute(select(self.plans).where(self.plans.c.id == plan_id)).first()
        if row is None:
            return None
        return Plan(id=row.id, precinct_id=row.precinct_id, inspector_id=row.inspector_id,
                    created_by=row.created_by, created_at=_utc(row.created_at),  # type: ignore[arg-type]
                    body=json.loads(row.body))

    def list_plans(self, *, precinct_ids: Iterable[str] | None = None, limit: int = 100) -> list[Plan]:
        """Plans newest first (bodies included), optionally of some precincts only."""
        q = select(self.plans).order_by(self.plans.c.created_at.desc()).limit(limit)
        if precinct_ids is not None:
            q = q.where(self.plans.c.precinct_id.in_(list(precinct_ids)))
        with connect(self.engine) as conn:
            return [Plan(id=r.id, precinct_id=r.precinct_id, inspector_id=r.inspector_id, created_by=r.created_by,
                         created_at=_utc(r.created_at), body=json.loads(r.body))  # type: ignore[arg-type]
                    for r in conn.execute(q)]

    # -- planners' results (siting runs, balanced precincts) -------------------------------
    def save_result(self, *, kind: str, created_by: str, body: dict[str, Any]) -> str:
        """Keep a planner's result (no personal data); return its id."""
        rid = "rs_" + secrets.token_hex(12)
        row = {"id": rid, "kind": _text(kind, "kind"), "created_by": _clip(created_by), "created_at": _now(),
               "body": json.dumps(body, ensure_ascii=False, allow_nan=False)}
        with begin(self.engine) as conn:
            conn.execute(insert(self.results).values(**row))
        unit = current_unit()
        if unit is not None:  # a job started in this request waits for the commit
            self._pending[rid] = (unit, unit.finished)
        return rid

    def update_result(self, result_id: str, *, body: dict[str, Any]) -> bool:
        """Replace a kept result's body (a finished job); False when the id is unknown.

        A result saved by a request still open (a job's thread finishing before the request
        that started it has committed) is updated once that request has ended."""
        unit, written = self._pending.pop(result_id, (None, None))
        if unit is not None and unit is not current_unit():
            written.wait(60)
        with begin(self.engine) as conn:
            res = conn.execute(update(self.results).where(self.results.c.id == result_id)
                               .values(body=json.dumps(body, ensure_ascii=False, allow_nan=False)))
        return bool(res.rowcount)

    def get_result(self, result_id: str, *, kind: str | None = None) -> dict[str, Any] | None:
        """A kept result with ``id``, ``kind``, ``created_at`` and ``body``; None when unknown."""
        if not isinstance(result_id, str) or len(result_id) > 40:
            return None
        q = select(self.results).where(self.results.c.id == result_id)
        if kind is not None:
            q = q.where(self.results.c.kind == kind)
        with connect(self.engine) as conn:
            row = conn.execute(q).first()
        if row is None:
            return None
        return {"id": row.id, "kind": row.kind, "created_by": row.created_by,
                "created_at": _utc(row.created_at).isoformat(), "body": json.loads(row.body)}  # type: ignore[union-attr]

    # -- settings kept in the database -------------------------------------------------
    def get_meta(self, name: str) -> str | None:
        with connect(self.engine) as conn:
            return conn.execute(select(self.meta.c.value).where(self.meta.c.name == name)).scalar()

    def set_meta(self, name: str, value: str) -> None:
        with begin(self.engine) as conn:
            res = conn.execute(update(self.meta).where(self.meta.c.name == name).values(value=value))
            if not res.rowcount:
                conn.execute(insert(self.meta).values(name=name, value=value))

    def secret_key(self) -> str:
        """The signing secret shared by every instance: generated once, kept in the database."""
        value = self.get_meta("secret_key")
        if value is None:
            try:
                with begin(self.engine) as conn:
                    conn.execute(insert(self.meta).values(name="secret_key", value=secrets.token_urlsafe(48)))
            except IntegrityError:  # another instance won the race
                pass
            value = self.get_meta("secret_key")
        assert value is not None
        return value


def _credential(row: Any) -> Credential:
    return Credential(id=row.id, kind=row.kind, name=row.name, role=row.role, subject=row.subject,
                      scopes=tuple(json.loads(row.scopes or "[]")),
                      precinct_ids=tuple(json.loads(row.precinct_ids or "[]")), rate_limit=row.rate_limit,
                      created_at=_utc(row.created_at),  # type: ignore[arg-type]
                      expires_at=_utc(row.expires_at), revoked_at=_utc(row.revoked_at))


def _link(row: Any) -> dict[str, Any]:
    iso = lambda d: _utc(d).isoformat() if d else None  # type: ignore[union-attr]  # noqa: E731
    return {"id": row.id, "plan_id": row.plan_id, "credential_id": row.credential_id, "created_by": row.created_by,
            "created_at": iso(row.created_at), "expires_at": iso(row.expires_at), "revoked_at": iso(row.revoked_at)}


def _text(value: Any, what: str, *, max_len: int = _MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        msg = f"{what} must be a non-empty text of at most {max_len} characters"
        raise InputError(msg)
    if any(ord(c) < 32 for c in value):
        msg = f"{what} must not contain control characters"
        raise InputError(msg)
    return value.strip()


def _clip(value: str | None, n: int = _MAX_TEXT) -> str | None:
    if value is None:
        return None
    return "".join(c if ord(c) >= 32 else " " for c in str(value))[:n]


def _dispose_in_child(store: Store | None) -> None:
    """After a fork: drop the parent's pooled connections without closing them under it."""
    if store is not None:
        store.engine.dispose(close=False)


def _check_rate_limit(value: str) -> None:
    try:
        parse_many(value)
    except ValueError as exc:
        msg = f"rate_limit {value!r} is not a rate such as '600/minute'"
        raise InputError(msg) from exc


def open_store(url: str | None, *, instance_path: str | None = None, schema: str | None = None,
               create: bool = True) -> Store:
    """Open (creating what is missing, when ``create``) the store at ``url``, or the default SQLite file."""
    if not url:
        url = f"sqlite:///{default_sqlite_path(instance_path)}"
    store = Store(url, schema=schema, create=create)
    logger.info("store: %s", _redact(url))
    return store


def _redact(url: str) -> str:
    """The URL without a password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return url.split("://", 1)[0] + "://…"


__all__ = ["AUDIT_COLUMNS", "CREDENTIAL_ROLES", "LINK_ID_PREFIX", "Credential", "Plan", "Store",
           "default_sqlite_path", "hash_token", "open_store"]

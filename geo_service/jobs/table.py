"""The ``jobs`` table beside the store's: each queued job's state, inputs, owner and heartbeat.

The broker carries a job's id and nothing else; what the job needs (the request's checked
inputs, which may hold addresses and labels) stays here, in the service's database, as
plans do. The state moves ``queued -> running -> done | failed | cancelled``; each move is one
conditional UPDATE, so two workers never both take a job, and a worker declared lost (its
heartbeat stopped) cannot overwrite what the job's retry wrote: every write of a running
job names its claim (``claim``: the worker and attempt that took it).

The table is made on first use in its own transaction (`Store`'s engine, schema and
`geo_service.unit` connections): a job created by a request commits with the request's
audit rows.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, func, insert, select, update

from geo_service.store import Store
from geo_service.store_tables import lock_ddl
from geo_service.unit import begin, connect, detached

#: A job's states; the last three are final.
STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL = ("done", "failed", "cancelled")
_create_lock = threading.Lock()


def now() -> datetime:
    """The database's idea of now for heartbeats (wall-clock UTC, shared by machines)."""
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def jobs_table(schema: str | None) -> tuple[MetaData, Table]:
    """The jobs table in a MetaData of ``schema``."""
    md = MetaData(schema=schema)
    table = Table(
        "jobs", md,
        Column("id", String(40), primary_key=True),  # the result's id: one id names both
        Column("kind", String(32), nullable=False),
        Column("status", String(16), nullable=False),
        Column("created_by", String(200), nullable=False),
        Column("role", String(32), nullable=False),  # the role the job's endpoint needs
        Column("precinct_ids", Text, nullable=False, default="[]"),  # [] : every precinct (planners)
        Column("subject", String(200)),  # the inspector a schedule is for
        Column("inputs", Text, nullable=False),
        Column("progress", Text),
        Column("detail", String(400)),
        Column("attempts", Integer, nullable=False, default=0),
        Column("max_attempts", Integer, nullable=False, default=2),
        Column("claim", String(80)),
        Column("cancel_requested", Integer, nullable=False, default=0),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("enqueued_at", DateTime(timezone=True)),
        Column("started_at", DateTime(timezone=True)),
        Column("heartbeat_at", DateTime(timezone=True)),
        Column("finished_at", DateTime(timezone=True)),
        Index("ix_jobs_status", "status"),
    )
    return md, table


class JobStore:
    """The jobs of one `Store` (same database, engine and schema)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
        self.md, self.table = jobs_table(store.schema)
        with detached(), self.engine.connect() as conn:  # only read: the app role may not create tables
            ready = conn.dialect.has_table(conn, self.table.name, schema=store.schema)
        if not ready:
            with _create_lock, detached(), begin(self.engine) as conn:  # never rolled back with a request
                lock_ddl(conn)  # another instance may be creating it now; create_all checks again
                self.md.create_all(conn, checkfirst=True)

    # -- the web side ------------------------------------------------------------------
    def create(self, job_id: str, *, kind: str, created_by: str, role: str, inputs: dict[str, Any],
               precinct_ids: Iterable[str] = (), subject: str | None = None, max_attempts: int = 2) -> None:
        """Record a queued job (in the current unit: it commits with the request)."""
        with begin(self.engine) as conn:
            conn.execute(insert(self.table).values(
                id=job_id, kind=kind, status="queued", created_by=created_by[:200], role=role,
                precinct_ids=json.dumps(sorted(set(precinct_ids))), subject=subject,
                inputs=json.dumps(inputs, ensure_ascii=False, allow_nan=False), attempts=0,
                max_attempts=max_attempts, cancel_requested=0, created_at=now()))

    def get(self, job_id: str) -> dict[str, Any] | None:
        """A job's row (inputs left out) or None."""
        if not isinstance(job_id, str) or len(job_id) > 40:
            return None
        with connect(self.engine) as conn:
            row = conn.execute(select(self.table).where(self.table.c.id == job_id)).first()
        return None if row is None else _row(row)

    def inputs(self, job_id: str) -> dict[str, Any]:
        with connect(self.engine) as conn:
            raw = conn.execute(select(self.table.c.inputs).where(self.table.c.id == job_id)).scalar()
        return json.loads(raw or "{}")

    def count_open(self) -> int:
        """Jobs queued or running (every instance's)."""
        with connect(self.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(self.table)
                                    .where(self.table.c.status.in_(("queued", "running")))).scalar() or 0)

    def cancel(self, job_id: str) -> str:
        """Cancel a job: a queued one at once (``cancelled``), a running one at its next progress
        point or its end (``running`` with ``cancel_requested``); a final one stays as it is.
        Returns the status after the call."""
        t = self.table
        with begin(self.engine) as conn:
            res = conn.execute(update(t).where(t.c.id == job_id, t.c.status == "queued").values(
                status="cancelled", finished_at=now(), detail="cancelled before it started", cancel_requested=1))
            if res.rowcount:
                return "cancelled"
            conn.execute(update(t).where(t.c.id == job_id, t.c.status == "running").values(cancel_requested=1))
            return str(conn.execute(select(t.c.status).where(t.c.id == job_id)).scalar())

    def mark_enqueued(self, job_id: str) -> None:
        """Note when the job was last handed to the broker (its own transaction: a request that
        queued a job must not hold the write lock the worker taking it needs)."""
        t = self.table
        with detached(), begin(self.engine) as conn:
            conn.execute(update(t).where(t.c.id == job_id, t.c.status == "queued").values(enqueued_at=now()))

    # -- the worker side ---------------------------------------------------------------
    def claim(self, job_id: str, claim: str) -> bool:
        """Take a queued job for this worker (``claim``); False when it is not queued."""
        t = self.table
        at = now()
        with begin(self.engine) as conn:
            res = conn.execute(update(t).where(t.c.id == job_id, t.c.status == "queued").values(
                status="running", claim=claim, attempts=t.c.attempts + 1, started_at=at, heartbeat_at=at))
        return bool(res.rowcount)

    def beat(self, job_id: str, claim: str, progress: dict[str, Any] | None) -> bool | None:
        """The running job's heartbeat (and its progress); whether it was asked to cancel,
        None when this claim no longer holds it (declared lost and taken again)."""
        t = self.table
        values: dict[str, Any] = {"heartbeat_at": now()}
        if progress is not None:
            values["progress"] = json.dumps(progress)
        with begin(self.engine) as conn:
            res = conn.execute(update(t).where(t.c.id == job_id, t.c.claim == claim, t.c.status == "running")
                               .values(**values))
            if not res.rowcount:
                return None
            return bool(conn.execute(select(t.c.cancel_requested).where(t.c.id == job_id)).scalar())

    def cancel_asked(self, job_id: str, claim: str) -> bool | None:
        """Whether the running job held by ``claim`` was asked to cancel (None: the claim no
        longer holds it); a read, between the heartbeats that write."""
        t = self.table
        with connect(self.engine) as conn:
            row = conn.execute(select(t.c.cancel_requested).where(
                t.c.id == job_id, t.c.claim == claim, t.c.status == "running")).first()
        return None if row is None else bool(row.cancel_requested)

    def finish(self, job_id: str, claim: str, status: str, *, detail: str | None = None,
               progress: dict[str, Any] | None = None) -> bool:
        """End the running job held by ``claim``; False when the claim no longer holds it."""
        assert status in FINAL
        t = self.table
        values: dict[str, Any] = {"status": status, "finished_at": now(), "detail": (detail or None) and detail[:400]}
        if progress is not None:
            values["progress"] = json.dumps(progress)
        with begin(self.engine) as conn:
            res = conn.execute(update(t).where(t.c.id == job_id, t.c.claim == claim, t.c.status == "running")
                               .values(**values))
        return bool(res.rowcount)

    def lost(self, older_than: float) -> list[dict[str, Any]]:
        """Running jobs whose heartbeat is older than ``older_than`` seconds."""
        t = self.table
        cutoff = now() - timedelta(seconds=older_than)
        with connect(self.engine) as conn:
            rows = conn.execute(select(t).where(t.c.status == "running", t.c.heartbeat_at < cutoff)).all()
        return [_row(r) for r in rows]

    def requeue_lost(self, job: dict[str, Any], reason: str) -> str | None:
        """A lost job queued again (attempts left) or failed with ``reason``; None when another
        sweeper or its own worker moved it first. Returns the new status."""
        t = self.table
        again = job["attempts"] < job["max_attempts"] and not job["cancel_requested"]
        values: dict[str, Any] = ({"status": "queued", "claim": None, "detail": reason[:400]} if again else
                                  {"status": "cancelled" if job["cancel_requested"] else "failed",
                                   "finished_at": now(), "detail": reason[:400]})
        with begin(self.engine) as conn:
            res = conn.execute(update(t).where(t.c.id == job["id"], t.c.status == "running",
                                               t.c.claim == job["claim"]).values(**values))
        return values["status"] if res.rowcount else None

    def stale_queued(self, older_than: float) -> list[str]:
        """Queued jobs last handed to the broker over ``older_than`` seconds ago (or never)."""
        t = self.table
        cutoff = now() - timedelta(seconds=older_than)
        with connect(self.engine) as conn:
            rows = conn.execute(select(t.c.id).where(
                t.c.status == "queued", (t.c.enqueued_at.is_(None) & (t.c.created_at < cutoff))
                | (t.c.enqueued_at < cutoff))).all()
        return [r.id for r in rows]


def _row(row: Any) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "status": row.status, "created_by": row.created_by, "role": row.role,
            "precinct_ids": json.loads(row.precinct_ids or "[]"), "subject": row.subject,
            "progress": json.loads(row.progress) if row.progress else None, "detail": row.detail,
            "attempts": int(row.attempts), "max_attempts": int(row.max_attempts), "claim": row.claim,
            "cancel_requested": bool(row.cancel_requested),
            **{k: (_utc(getattr(row, k)).isoformat() if getattr(row, k) else None)  # type: ignore[union-attr]
               for k in ("created_at", "enqueued_at", "started_at", "heartbeat_at", "finished_at")}}


__all__ = ["FINAL", "STATES", "JobStore", "jobs_table", "now"]

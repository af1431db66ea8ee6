"""One request's database work as one transaction: its changes and their audit rows.

`unit_of_work` is opened around every view (`geo_service.web.security.access`) and around
the CLI's writes. Inside it, every write of the store and of the appeals store (`begin`)
goes to one connection and one transaction, opened at the first write (``BEGIN IMMEDIATE``
on SQLite, so two processes never interleave a read-then-write), each write in its own
savepoint; reads (`connect`) use that connection too once it is open, so a view reads
what it wrote. Audit rows are queued (`Unit.defer`) and appended when the unit ends, in
the same transaction just before the commit: the audit chain's head is held only for
that moment, and there is no change without its row.

When the view fails, its changes are rolled back and the queued rows are written on their
own, an ``ok`` outcome turned into ``failed:<status>`` (the attempt is recorded, not a
change that was not made). Framework-free and without SQLAlchemy (engines and connections
are duck-typed): importing it costs nothing at app start.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextvars import ContextVar, Token
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class AuditSink(Protocol):
    """What a unit flushes queued audit rows into (`geo_service.store.Store`)."""

    engine: Any

    def append_audit(self, conn: Any, rows: list[dict[str, Any]]) -> list[int]: ...


class Unit:
    """The open transaction of one request (or CLI command) and its queued audit rows."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.engine: Any = None
        self.conn: Any = None
        self.queued: list[tuple[AuditSink, dict[str, Any]]] = []
        #: Set when what the unit wrote so far is committed or rolled back (at its end or a
        #: `checkpoint`): a background job started in it waits for this before touching it.
        self.finished = threading.Event()

    def connection(self, engine: Any) -> Any:
        """The unit's connection (opened, in a transaction, on first use)."""
        if self.conn is None:
            conn = engine.connect()
            try:
                start_transaction(conn)
            except BaseException:
                conn.close()
                raise
            self.engine, self.conn = engine, conn
        return self.conn

    def defer(self, sink: AuditSink, row: dict[str, Any]) -> None:
        """Queue an audit row: appended with the unit's changes when it commits."""
        self.queued.append((sink, row))

    def _groups(self) -> list[tuple[AuditSink, list[dict[str, Any]]]]:
        groups: dict[int, tuple[AuditSink, list[dict[str, Any]]]] = {}
        for sink, row in self.queued:
            groups.setdefault(id(sink), (sink, []))[1].append(row)
        return list(groups.values())

    def commit(self) -> None:
        """Append the queued rows in this transaction (those of another database in their own), commit."""
        for sink, rows in self._groups():
            if self.conn is None or sink.engine is self.engine:
                sink.append_audit(self.connection(sink.engine), rows)
            else:
                with begin(sink.engine) as conn:
                    sink.append_audit(conn, rows)
        self.queued.clear()
        if self.conn is not None:
            self.conn.commit()

    def checkpoint(self) -> None:
        """Commit what the unit holds now (its queued audit rows with it) and go on in a new
        transaction: before a background job starts on what the request wrote."""
        self.commit()
        self.close()
        self.engine = None
        done, self.finished = self.finished, threading.Event()
        done.set()

    def rollback_and_record(self, exc: BaseException) -> None:
        """Roll the changes back, then write the queued rows alone, saying the attempt failed."""
        if self.conn is not None:
            try:
                self.conn.rollback()
            except Exception:  # noqa: BLE001 - the connection is closed next anyway
                logger.exception("rolling back a failed request's transaction failed")
        status = getattr(exc, "status", None) or getattr(exc, "code", None) or 500
        for sink, rows in self._groups():
            failed = [{**r, "outcome": _failed(r.get("outcome"), status)} for r in rows]
            try:
                with begin(sink.engine) as conn:
                    sink.append_audit(conn, failed)
            except Exception:  # noqa: BLE001 - the request fails with its own error
                logger.exception("the audit rows of a failed request could not be written")
        self.queued.clear()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _failed(outcome: Any, status: Any) -> str:
    text = str(outcome or "")
    return f"failed:{status}" if text == "ok" or text.startswith("ok:") else text


_CURRENT: ContextVar[Unit | None] = ContextVar("geo_service_unit", default=None)


def current_unit() -> Unit | None:
    """The unit open in this thread's context, if any (a thread never uses another's)."""
    u = _CURRENT.get()
    return u if u is not None and u.thread == threading.get_ident() else None


@contextlib.contextmanager
def unit_of_work() -> Iterator[Unit]:
    """Run a block as one unit (nested units join the outer one)."""
    outer = current_unit()
    if outer is not None:
        yield outer
        return
    u = Unit()
    token: Token[Unit | None] | None = _CURRENT.set(u)
    try:
        yield u
        u.commit()
    except BaseException as exc:
        _CURRENT.reset(token)  # type: ignore[arg-type]  # set just above
        token = None
        u.rollback_and_record(exc)
        raise
    finally:
        if token is not None:
            _CURRENT.reset(token)
        u.close()
        u.finished.set()


@contextlib.contextmanager
def detached() -> Iterator[None]:
    """Run a block outside the current unit: its writes commit on their own (schema creation,
    which a failed request must not roll back under a cached store)."""
    token = _CURRENT.set(None)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def checkpoint() -> None:
    """Commit the current unit's work so far (`Unit.checkpoint`); nothing outside a unit."""
    u = current_unit()
    if u is not None:
        u.checkpoint()


def start_transaction(conn: Any) -> None:
    """Begin a transaction that may write: ``BEGIN IMMEDIATE`` on SQLite (the write lock at
    once, waiting for another writer), an ordinary transaction elsewhere."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.begin()


@contextlib.contextmanager
def begin(engine: Any) -> Iterator[Any]:
    """A connection to write with: inside a unit its connection (this block in a savepoint,
    committed with the unit), else a transaction of its own, committed at the end."""
    u = current_unit()
    if u is not None and (u.engine is None or u.engine is engine):
        conn = u.connection(engine)
        with conn.begin_nested():
            yield conn
        return
    conn = engine.connect()
    try:
        start_transaction(conn)
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


@contextlib.contextmanager
def connect(engine: Any) -> Iterator[Any]:
    """A connection to read with: the unit's once it has written (a view reads what it
    wrote), else a connection of its own."""
    u = current_unit()
    if u is not None and u.conn is not None and u.engine is engine:
        yield u.conn
        return
    with engine.connect() as conn:
        yield conn


__all__ = ["AuditSink", "Unit", "begin", "checkpoint", "connect", "current_unit", "detached",
           "start_transaction", "unit_of_work"]

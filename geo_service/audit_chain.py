"""The audit log as a hash chain: appending under a lock, and checking the chain.

Each row carries ``prev_hash`` (the hash of the row before it; `GENESIS` for the first)
and ``hash``: SHA-256 over `canonical` -- the row's fields (its id, the time in UTC to the
microsecond, principal, action, record type and id, remote address, outcome) and
``prev_hash``, as compact JSON. Ids are given in order under the lock, so they have no
gaps. The one-row ``audit_head`` table holds the last id and hash: an append locks it
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the transaction is ``BEGIN
IMMEDIATE`` already), so two instances appending at once keep one line.

`verify` walks the rows in id order and names the first broken one: a row edited (its
hash no longer matches its fields), a row deleted or inserted (ids jump, or a row's
``prev_hash`` is not the hash of the row before it), rows cut off the end (the head names
a later row than the last one). Rows written before the chain existed (no hash) may only
come first; they are counted apart.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, insert, select, update

from geo_service.store_tables import GENESIS

#: The fields a row's hash covers, in this order (with ``prev_hash`` last).
CHAINED_FIELDS = ("id", "at", "principal", "action", "record_type", "record_id", "remote_addr", "outcome")


def _iso(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite gives datetimes back naive: they are UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row: dict[str, Any]) -> str:
    """The text a row's hash is taken over."""
    values = [int(row["id"]), _iso(row["at"])] + [row.get(k) for k in CHAINED_FIELDS[2:]] + [row.get("prev_hash")]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def row_hash(row: dict[str, Any]) -> str:
    """Hex SHA-256 of `canonical`."""
    return hashlib.sha256(canonical(row).encode("utf-8")).hexdigest()


def append(conn: Any, audit: Table, head: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Append rows (without id or hashes) to the chain in ``conn``'s transaction; their ids.

    The caller's transaction must be able to write: on SQLite one begun ``IMMEDIATE``
    (`geo_service.unit.start_transaction`)."""
    if not rows:
        return []
    q = select(head.c.last_id, head.c.last_hash).where(head.c.id == 1)
    if conn.dialect.name != "sqlite":
        q = q.with_for_update()
    top = conn.execute(q).first()
    if top is None:
        msg = "the audit chain has no head row (run geo-service db init, or open the store as its owner once)"
        raise RuntimeError(msg)
    last_id, prev = int(top.last_id), str(top.last_hash)
    out = []
    for r in rows:
        last_id += 1
        rec = {**r, "id": last_id, "prev_hash": prev}
        rec["hash"] = prev = row_hash(rec)
        out.append(rec)
    conn.execute(insert(audit), out)
    conn.execute(update(head).where(head.c.id == 1).values(last_id=last_id, last_hash=prev))
    return [r["id"] for r in out]


@dataclass(frozen=True)
class ChainReport:
    """What `verify` found."""

    rows: int
    unchained: int = 0
    broken_id: int | None = None
    why: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_id is None

    def line(self) -> str:
        """One readable line for the CLI."""
        if not self.intact:
            return f"audit chain broken at row {self.broken_id}: {self.why}"
        legacy = f" (and {self.unchained} earlier rows from before the chain)" if self.unchained else ""
        return f"audit chain intact: {self.rows} rows{legacy}"


def verify(rows: Iterable[Any], head: Any) -> ChainReport:
    """Check rows (mappings, in id order) against each other and the head row (or None)."""
    prev_id: int | None = None
    prev_hash = GENESIS
    n = legacy = 0
    for r in rows:
        rid = int(r["id"])
        if r["hash"] is None:
            if n:
                return ChainReport(n, legacy, rid, "it carries no hash, after chained rows (written around the chain)")
            legacy, prev_id = legacy + 1, rid
            continue
        if prev_id is not None and rid != prev_id + 1:
            return ChainReport(n, legacy, rid, f"rows {prev_id + 1}..{rid - 1} before it are missing (deleted)")
        if r["prev_hash"] != prev_hash:
            what = f"row {prev_id}" if prev_id is not None else "the chain's start"
            return ChainReport(n, legacy, rid, f"its prev_hash is not the hash of {what} "
                                               "(a row before it was changed or replaced)")
        if row_hash(dict(r)) != r["hash"]:
            return ChainReport(n, legacy, rid, "its fields do not match its hash (the row was edited)")
        n, prev_id, prev_hash = n + 1, rid, r["hash"]
    if head is not None and n and (int(head["last_id"]) != prev_id or head["last_hash"] != prev_hash):
        last = int(head["last_id"])
        if last > (prev_id or 0):
            return ChainReport(n, legacy, (prev_id or 0) + 1,
                               f"the chain head names row {last}: rows {(prev_id or 0) + 1}..{last} are missing")
        return ChainReport(n, legacy, prev_id, "the chain head does not name this last row (the head was changed)")
    if head is not None and not n and int(head["last_id"]) > (prev_id or 0):
        return ChainReport(0, legacy, (prev_id or 0) + 1, f"the chain head names row {head['last_id']}, "
                                                           "but no chained row is left (deleted)")
    return ChainReport(n, legacy)


__all__ = ["CHAINED_FIELDS", "ChainReport", "append", "canonical", "row_hash", "verify"]

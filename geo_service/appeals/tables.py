"""The appeals' SQL tables: appeals, their status events, trust scores, pilots and visit records."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)


def tables(md: MetaData) -> dict[str, Table]:
    """The tables in ``md``, by table name."""
    appeals = Table(
        "appeals", md,
        Column("id", String(40), primary_key=True),
        Column("received_at", DateTime(timezone=True), nullable=False),
        Column("category", String(40), nullable=False),
        Column("lat", Float, nullable=False),
        Column("lon", Float, nullable=False),
        Column("precinct_id", String(200), nullable=False),
        Column("inspector_id", String(200)),
        Column("status", String(16), nullable=False),
        Column("first_contact_at", DateTime(timezone=True)),
        Column("closed_at", DateTime(timezone=True)),
        Index("ix_appeals_inspector_status", "inspector_id", "status"),
        Index("ix_appeals_precinct_received", "precinct_id", "received_at"),
    )
    events = Table(
        "appeal_events", md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("appeal_id", String(40), nullable=False),
        Column("status", String(16), nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Index("ix_appeal_events_appeal", "appeal_id"),
    )
    trust = Table(
        "trust_scores", md,
        Column("precinct_id", String(200), primary_key=True),
        Column("period", Date, primary_key=True),
        Column("score", Float, nullable=False),
    )
    pilots = Table(
        "pilots", md,
        Column("precinct_id", String(200), primary_key=True),
        Column("start", Date, nullable=False),
        Column("note", String(200)),
    )
    # One row per plan's visit: a visit id names a visit within its plan only (a replanned day
    # may give "v1" to another person). Rows of `LEGACY_VISITS` (keyed without the plan) are
    # copied in once, their plan "" (`AppealStore` does it).
    visits = Table(
        VISITS, md,
        Column("inspector_id", String(200), primary_key=True),
        Column("visit_ref", String(64), primary_key=True),
        Column("due_date", Date, primary_key=True),
        Column("plan_id", String(40), primary_key=True, default=""),
        Column("precinct_id", String(200), nullable=False),
        Column("priority", Integer, nullable=False),
        Column("done_at", DateTime(timezone=True)),
        Index("ix_plan_visits_precinct_due", "precinct_id", "due_date"),
    )
    return {"appeals": appeals, "appeal_events": events, "trust_scores": trust, "pilots": pilots,
            VISITS: visits}


#: The visits table, keyed by plan, and the table before it (keyed by inspector, visit, due date).
VISITS = "plan_visits"
LEGACY_VISITS = "visit_records"

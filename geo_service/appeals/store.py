"""Citizens' appeals in the database and their status flow.

An appeal keeps only what the service needs: where (lat/lon), what kind (a category
code), when, the precinct and inspector it was assigned to, and its status times. No
names, phone numbers or free text are stored. Status flow: ``received`` ->
``first_contact`` -> ``closed`` (one step at a time; each step's time is kept and may not
precede the previous one; every change is also written to ``appeal_events``).

Also kept here: preventive-register visit records, public-trust scores imported from a
survey CSV, pilot precincts, and appeal processing times per precinct. The reform's
indicators built on them are in `geo_service.workload.reform`.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from sqlalchemy import (
    MetaData,
    Table,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine

from geo_service import clock
from geo_service.appeals.tables import LEGACY_VISITS, VISITS, tables
from geo_service.appeals.times import check_done_at, checked_appeal_times, plausible, plausible_done_sql
from geo_service.clock import as_datetime, as_utc
from geo_service.errors import InputError, InputFileError, NotFound
from geo_service.lookup.service import Lookup, check_point
from geo_service.routes.model import PREVENTIVE_REGISTER
from geo_service.store_tables import lock_ddl
from geo_service.unit import begin, connect, detached

if TYPE_CHECKING:
    from geo_service.bundle import CityBundle
    from geo_service.store import Store

logger = logging.getLogger(__name__)

STATUSES = ("received", "first_contact", "closed")
#: The one allowed next status of each status.
NEXT_STATUS = {"received": "first_contact", "first_contact": "closed"}
#: Categories are short codes (no free text, so no personal data slips in).
CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
#: Suggested categories (any code matching `CATEGORY_RE` is accepted).
CATEGORIES = ("noise", "domestic", "neighbours", "theft", "traffic", "drunkenness", "animals", "other")


#: Visit ids kept with visit records: the caller's opaque id (no names).
VISIT_REF_RE = re.compile(r"^[\w.:-]{1,64}$")


@dataclass(frozen=True)
class Appeal:
    """One appeal (no personal data)."""

    id: str
    received_at: datetime
    category: str
    lat: float
    lon: float
    precinct_id: str
    inspector_id: str | None
    status: str
    first_contact_at: datetime | None
    closed_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {"id": self.id, "received_at": iso(self.received_at), "category": self.category,
                "lat": self.lat, "lon": self.lon, "precinct_id": self.precinct_id,
                "inspector_id": self.inspector_id, "status": self.status,
                "first_contact_at": iso(self.first_contact_at), "closed_at": iso(self.closed_at)}

    def as_visit(self, *, service_min: float = 20.0, priority: int = 2) -> dict[str, Any]:
        """The appeal as a visit for the inspector's next plan (`geo_service.routes.model.Visit` fields)."""
        return {"id": f"appeal:{self.id}", "lat": self.lat, "lon": self.lon, "service_min": service_min,
                "priority": priority, "label": f"appeal {self.category}"}


class AppealStore:
    """Appeals, trust scores and pilot marks in the service's database.

    Parameters
    ----------
    db
        A `geo_service.store.Store` (its engine and schema are used) or a SQLAlchemy engine.
    city
        The loaded city: its lookup index assigns precincts, its roster inspectors.
    schema
        PostgreSQL schema (default: the Store's).
    tz
        The city's time zone (IANA name): the local date of a visit made decides whether it
        was on time.
    """

    def __init__(self, db: Store | Engine, *, city: CityBundle | None = None, schema: str | None = None,
                 tz: str = "Asia/Almaty") -> None:
        engine = getattr(db, "engine", db)
        if not isinstance(engine, Engine):
            msg = "AppealStore needs a Store or a SQLAlchemy engine"
            raise InputError(msg)
        self.engine = engine
        self.schema = schema if schema is not None else getattr(db, "schema", None)
        self.city = city
        try:
            self.tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"unknown time zone {tz!r} (an IANA name such as Asia/Almaty)"
            raise InputError(msg) from exc
        self._md = MetaData(schema=self.schema)
        t = tables(self._md)
        self.appeals, self.events, self.trust, self.pilots, self.visits = (
            t["appeals"], t["appeal_events"], t["trust_scores"], t["pilots"], t[VISITS])
        with detached(), self.engine.connect() as conn:  # only read: no write lock while a request holds it
            ready = all(conn.dialect.has_table(conn, table.name, schema=self.schema) for table in t.values())
        if not ready:
            with detached(), begin(self.engine) as conn:  # never rolled back with a failed request
                lock_ddl(conn)  # another instance may be creating them now
                if self.schema and self.engine.dialect.name == "postgresql":
                    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                fresh = not conn.dialect.has_table(conn, VISITS, schema=self.schema)
                self._md.create_all(conn)
                if fresh and conn.dialect.has_table(conn, LEGACY_VISITS, schema=self.schema):
                    self._copy_legacy_visits(conn)

    def _copy_legacy_visits(self, conn: Any) -> None:
        """Copy the visits of the table keyed without the plan (it stays as it was)."""
        old = Table(LEGACY_VISITS, MetaData(schema=self.schema), autoload_with=conn)
        cols = ("inspector_id", "visit_ref", "due_date", "precinct_id", "priority", "done_at")
        rows = [{**{c: r[c] for c in cols}, "plan_id": r.get("plan_id") or ""}
                for r in conn.execute(select(old)).mappings()]
        if rows:
            conn.execute(insert(self.visits), rows)
        logger.info("visits: %d rows copied from %s into %s", len(rows), LEGACY_VISITS, VISITS)

    def drop_all(self) -> None:
        """Drop this module's tables (tests only)."""
        with begin(self.engine) as conn:
            self._md.drop_all(conn)

    # -- appeals -------------------------------------------------------------------------
    def create(self, *, lat: Any, lon: Any, category: str, received_at: Any = None,
               precinct_id: str | None = None, city: CityBundle | None = None) -> Appeal:
        """Record an appeal, assign its precinct (point in polygon) and inspector.

        The inspector is the precinct's roster inspector with the fewest open appeals
        (ties: the smallest id); None when the precinct has no inspector.

        Raises
        ------
        InputError
            Bad coordinates or category; a point outside every precinct
            (`geo_service.lookup.service.OutsidePrecincts`).
        """
        lat_f, lon_f = check_point(lat, lon)
        category = str(category or "").strip().lower()
        if not CATEGORY_RE.match(category):
            msg = "category must be a short code of lower-case letters, digits and _ (e.g. noise, theft)"
            raise InputError(msg)
        at = (clock.check_not_future(as_datetime(received_at, "received_at"), "received_at")
              if received_at is not None else clock.now())
        city = city or self.city
        if precinct_id is None:
            if city is None:
                msg = "an AppealStore without a city needs the precinct_id"
                raise InputError(msg)
            lookup = city.cached("lookup", lambda: Lookup(city))
            answer = lookup.by_point(lat_f, lon_f, travel=False)
            precinct_id = str(answer["precinct"]["id"])
            inspectors = [i["id"] for i in answer["inspectors"]]
        else:
            inspectors = ([str(r.inspector_id) for r in city.roster.itertuples(index=False)
                           if str(r.precinct_id) == precinct_id] if city is not None else [])
        row: dict[str, Any] = {"id": "a_" + secrets.token_hex(8), "received_at": at, "category": category, "lat": lat_f,
               "lon": lon_f, "precinct_id": precinct_id, "inspector_id": None, "status": "received",
               "first_contact_at": None, "closed_at": None}
        with begin(self.engine) as conn:
            if inspectors:
                a = self.appeals
                counts: dict[str, int] = dict(conn.execute(
                    select(a.c.inspector_id, func.count()).where(a.c.inspector_id.in_(inspectors),
                                                                 a.c.status != "closed")
                    .group_by(a.c.inspector_id)).all())
                row["inspector_id"] = min(sorted(inspectors), key=lambda i: counts.get(i, 0))
            conn.execute(insert(self.appeals).values(**row))
            conn.execute(insert(self.events).values(appeal_id=row["id"], status="received", at=at))
        logger.info("appeal %s (%s) -> precinct %s, inspector %s", row["id"], category, precinct_id,
                    row["inspector_id"])
        return self.get(row["id"])

    def get(self, appeal_id: str) -> Appeal:
        with connect(self.engine) as conn:
            r = conn.execute(select(self.appeals).where(self.appeals.c.id == appeal_id)).mappings().first()
        if r is None:
            msg = f"no appeal {appeal_id!r}"
            raise NotFound(msg)
        return _appeal(r)

    def advance(self, appeal_id: str, status: str, at: Any = None) -> Appeal:
        """Move an appeal to its next status at ``at`` (default now).

        Raises
        ------
        InputError
            An unknown status, a skipped or backward step, or a time before the previous step.
        NotFound
            No such appeal.
        """
        if status not in STATUSES:
            msg = f"status must be one of {', '.join(STATUSES)}"
            raise InputError(msg)
        when = clock.check_not_future(as_datetime(at, "at"), "at") if at is not None else clock.now()
        current = self.get(appeal_id)
        if NEXT_STATUS.get(current.status) != status:
            allowed = NEXT_STATUS.get(current.status)
            msg = (f"appeal {appeal_id} is {current.status}: it can move only to {allowed}" if allowed
                   else f"appeal {appeal_id} is closed: it cannot change")
            raise InputError(msg)
        previous = current.first_contact_at if current.status == "first_contact" else current.received_at
        if previous is not None and when < previous:
            step = "first contact" if current.status == "first_contact" else "receipt"
            msg = (f"at: {status} at {when.isoformat()} is before the appeal's {step} ({previous.isoformat()}); "
                   f"{status} must not precede it")
            raise InputError(msg, field="at", rule=f"{status}_after_{current.status}")
        column = "first_contact_at" if status == "first_contact" else "closed_at"
        with begin(self.engine) as conn:
            res = conn.execute(update(self.appeals)
                               .where(self.appeals.c.id == appeal_id, self.appeals.c.status == current.status)
                               .values(status=status, **{column: when}))
            if res.rowcount != 1:  # changed by someone else meanwhile
                msg = f"appeal {appeal_id} changed meanwhile; reload it and try again"
                raise InputError(msg)
            conn.execute(insert(self.events).values(appeal_id=appeal_id, status=status, at=when))
        return self.get(appeal_id)

    def history(self, appeal_id: str) -> list[tuple[str, datetime]]:
        """The appeal's status changes, oldest first."""
        e = self.events
        with connect(self.engine) as conn:
            rows = conn.execute(select(e.c.status, e.c.at).where(e.c.appeal_id == appeal_id).order_by(e.c.id)).all()
        return [(r.status, as_utc(r.at)) for r in rows]  # type: ignore[misc]

    def open_for_inspector(self, inspector_id: str) -> list[Appeal]:
        """The inspector's appeals not yet closed, oldest first (the next plan's visits)."""
        a = self.appeals
        with connect(self.engine) as conn:
            rows = conn.execute(select(a).where(a.c.inspector_id == inspector_id, a.c.status != "closed")
                                .order_by(a.c.received_at, a.c.id)).mappings().all()
        return [_appeal(r) for r in rows]

    def frame(self, *, start: Any = None, end: Any = None, precinct_id: str | None = None,
              checked: bool = True) -> pd.DataFrame:
        """Appeals received in [start, end) as a DataFrame (times in UTC). ``checked`` (for
        indicators) applies `checked_appeal_times`: stored times that break the rules are
        left out and flagged in ``time_problem``; ``checked=False`` gives the rows as stored."""
        a = self.appeals
        q = select(a)
        if start is not None:
            q = q.where(a.c.received_at >= as_datetime(start, "start"))
        if end is not None:
            q = q.where(a.c.received_at < as_datetime(end, "end"))
        if precinct_id is not None:
            q = q.where(a.c.precinct_id == precinct_id)
        with connect(self.engine) as conn:
            rows = conn.execute(q.order_by(a.c.received_at)).mappings().all()
        cols = [c.name for c in a.columns]
        frame = pd.DataFrame([dict(r) for r in rows], columns=cols)
        for c in ("received_at", "first_contact_at", "closed_at"):
            frame[c] = pd.to_datetime(frame[c], utc=True)
        return checked_appeal_times(frame) if checked else frame

    def processing_times(self, *, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Per precinct: appeals received and closed, median and 90th percentile hours to
        first contact and to closing (appeals received in [start, end))."""
        return processing_times(self.frame(start=start, end=end))

    # -- visits due and made ----------------------------------------------------------------
    def record_due(self, rows: Iterable[dict[str, Any]]) -> int:
        """Record planned visits as due: dicts with ``inspector_id, visit_ref, due_date,
        precinct_id, priority`` and optionally ``plan_id``. A visit already recorded for the
        same inspector and due date takes the newer plan; its ``done_at`` is kept only when
        it is the same plan (a visit id reused by another plan is another visit). Returns
        the rows written."""
        v = self.visits
        clean = []
        for r in rows:
            ref = str(r["visit_ref"])
            if not VISIT_REF_RE.match(ref):
                msg = f"visit id {ref!r} must be 1-64 letters, digits, '.', ':', '_' or '-'"
                raise InputError(msg)
            clean.append({"inspector_id": str(r["inspector_id"]), "visit_ref": ref,
                          "due_date": _as_date(r["due_date"], "due_date"), "precinct_id": str(r["precinct_id"]),
                          "priority": int(r["priority"]), "plan_id": str(r.get("plan_id") or "")})
        with begin(self.engine) as conn:
            for r in clean:
                key = (v.c.inspector_id == r["inspector_id"], v.c.visit_ref == r["visit_ref"],
                       v.c.due_date == r["due_date"])
                done = conn.execute(select(v.c.done_at).where(*key, v.c.plan_id == r["plan_id"])).scalar()
                # This plan's row again, and another plan's visit of that id and day not made:
                # superseded (a replanned day). A visit another plan made stays made.
                conn.execute(delete(v).where(*key, (v.c.plan_id == r["plan_id"]) | v.c.done_at.is_(None)))
                conn.execute(insert(v).values(**r, done_at=done))
        return len(clean)

    def mark_done(self, *, inspector_id: str, visit_ref: str, due_date: Any, done_at: Any = None,
                  plan_date: Any = None, plan_created_at: datetime | None = None,
                  plan_id: str | None = None) -> dict[str, Any]:
        """Mark a recorded visit as made (``done_at`` defaults to now), checked by
        `check_done_at` against the plan it was made on (``plan_date``, ``plan_created_at``)
        when they are given. With ``plan_id``, only that plan's visit is marked (marks belong
        to one plan's visit). Raises `NotFound` when the visit was never recorded as due."""
        due = _as_date(due_date, "due_date")
        when = as_datetime(done_at, "done_at") if done_at is not None else clock.now()
        check_done_at(when, plan_date=None if plan_date is None else _as_date(plan_date, "plan date"),
                      plan_created_at=plan_created_at, tz=self.tz)
        return self._set_done(inspector_id, visit_ref, due, when, plan_id)

    def unmark_done(self, *, inspector_id: str, visit_ref: str, due_date: Any,
                    plan_id: str | None = None) -> dict[str, Any]:
        """Take back a mark (a visit marked made by mistake): ``done_at`` becomes empty
        again. Raises `NotFound` when the visit was never recorded as due."""
        return self._set_done(inspector_id, visit_ref, _as_date(due_date, "due_date"), None, plan_id)

    def _set_done(self, inspector_id: str, visit_ref: str, due: date, when: datetime | None,
                  plan_id: str | None) -> dict[str, Any]:
        v = self.visits
        key = (v.c.inspector_id == inspector_id, v.c.visit_ref == visit_ref, v.c.due_date == due,
               *((v.c.plan_id == plan_id,) if plan_id is not None else ()))
        with begin(self.engine) as conn:
            n = conn.execute(update(v).where(*key).values(done_at=when)).rowcount
            row = conn.execute(select(v).where(*key)).mappings().first()
        if not n or row is None:
            msg = "no such visit in the plan's records"
            raise NotFound(msg)
        return _visit_record(row, self.tz)

    def done_in_plan(self, *, inspector_id: str, due: dict[str, Any],
                     plan_id: str | None = None) -> dict[str, datetime]:
        """Of a plan's visits (visit id -> due date), the ones marked made: id -> local time
        (with ``plan_id``: marked on that plan, not on another plan reusing a visit id)."""
        if not due:
            return {}
        v = self.visits
        want = {str(k): _as_date(d, "due_date") for k, d in due.items()}
        with connect(self.engine) as conn:
            rows = conn.execute(select(v.c.visit_ref, v.c.due_date, v.c.done_at).where(
                v.c.inspector_id == inspector_id, v.c.visit_ref.in_(list(want)), v.c.done_at.is_not(None),
                *((v.c.plan_id == plan_id,) if plan_id is not None else ()))).all()
        return {r.visit_ref: as_utc(r.done_at).astimezone(self.tz) for r in rows  # type: ignore[union-attr]
                if want.get(r.visit_ref) == r.due_date}

    def visit_frame(self, *, start: Any = None, end: Any = None, precinct_id: str | None = None,
                    priority: int | None = None, made: bool = False) -> pd.DataFrame:
        """Recorded visits due in [start, end) (dates), only those made when ``made``:
        ``precinct_id, inspector_id, due_date, done_date, done_at, priority`` (``visit_ref``
        is left out: indicators do not need it)."""
        v = self.visits
        q = select(v.c.precinct_id, v.c.inspector_id, v.c.due_date, v.c.done_at, v.c.priority)
        if start is not None:
            q = q.where(v.c.due_date >= _as_date(start, "start"))
        if end is not None:
            q = q.where(v.c.due_date < _as_date(end, "end"))
        if precinct_id is not None:
            q = q.where(v.c.precinct_id == precinct_id)
        if priority is not None:
            q = q.where(v.c.priority == int(priority))
        if made:
            q = q.where(v.c.done_at.is_not(None))
        with connect(self.engine) as conn:
            rows = conn.execute(q.order_by(v.c.due_date)).all()
        frame = pd.DataFrame([tuple(r) for r in rows],
                             columns=["precinct_id", "inspector_id", "due_date", "done_at", "priority"])
        frame["done_at"] = pd.to_datetime(frame["done_at"], utc=True)
        # A stored time no mark could be given today (year 1, years ahead) does not count as made.
        bad = frame["done_at"].notna() & ~plausible(frame["done_at"])
        frame["time_problem"] = bad.map({True: "done_at", False: None})
        frame.loc[bad, "done_at"] = pd.NaT
        frame["done_date"] = frame["done_at"].dt.tz_convert(self.tz).dt.date  # the city's local date
        frame.attrs["ignored_times"] = int(bad.sum())
        return frame[["precinct_id", "inspector_id", "due_date", "done_date", "done_at", "priority", "time_problem"]]

    def visits_made(self, *, start: Any, end: Any, precinct_id: str | None = None,
                    priority: int | None = PREVENTIVE_REGISTER) -> int:
        """Visits made (``done_at``) in [start, end), by default preventive-register ones."""
        v = self.visits
        q = select(func.count()).select_from(v).where(v.c.done_at >= as_datetime(start, "start"),
                                                      v.c.done_at < as_datetime(end, "end"), *plausible_done_sql(v))
        if precinct_id is not None:
            q = q.where(v.c.precinct_id == precinct_id)
        if priority is not None:
            q = q.where(v.c.priority == int(priority))
        with connect(self.engine) as conn:
            return int(conn.execute(q).scalar() or 0)

    def visits_made_by_precinct(self, *, start: Any = None, end: Any = None,
                                priority: int | None = None) -> pd.DataFrame:
        """Visits made (``done_at``) in [start, end) per precinct, counted by the database
        (``GROUP BY``): ``precinct_id, count``; either bound may be None."""
        v = self.visits
        q = select(v.c.precinct_id, func.count().label("count")).where(v.c.done_at.is_not(None), *plausible_done_sql(v))
        if start is not None:
            q = q.where(v.c.done_at >= as_datetime(start, "start"))
        if end is not None:
            q = q.where(v.c.done_at < as_datetime(end, "end"))
        if priority is not None:
            q = q.where(v.c.priority == int(priority))
        with connect(self.engine) as conn:
            rows = conn.execute(q.group_by(v.c.precinct_id).order_by(v.c.precinct_id)).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=["precinct_id", "count"])

    # -- trust scores and pilots -----------------------------------------------------------
    def import_trust_csv(self, path: Path | str) -> int:
        """Import survey results (``precinct_id, period, score``); a row replaces the same
        precinct and period. Returns the rows imported."""
        frame = read_trust_csv(path)
        rows = [{"precinct_id": r.precinct_id, "period": r.period, "score": float(r.score)}
                for r in frame.itertuples(index=False)]
        t = self.trust
        with begin(self.engine) as conn:
            for r in rows:
                conn.execute(delete(t).where(t.c.precinct_id == r["precinct_id"], t.c.period == r["period"]))
            if rows:
                conn.execute(insert(t), rows)
        return len(rows)

    def trust_scores(self) -> pd.DataFrame:
        t = self.trust
        with connect(self.engine) as conn:
            rows = conn.execute(select(t).order_by(t.c.precinct_id, t.c.period)).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=["precinct_id", "period", "score"])

    def mark_pilot(self, precinct_id: str, start: Any, *, note: str | None = None) -> None:
        """Mark a precinct as a pilot from ``start`` (a date); marking again moves the date."""
        d = as_datetime(start, "start").date()
        t = self.pilots
        with begin(self.engine) as conn:
            conn.execute(delete(t).where(t.c.precinct_id == precinct_id))
            conn.execute(insert(t).values(precinct_id=precinct_id, start=d, note=(note or None)))

    def pilot_starts(self) -> dict[str, date]:
        with connect(self.engine) as conn:
            return {r.precinct_id: r.start for r in conn.execute(select(self.pilots)).all()}


def _as_date(value: Any, name: str) -> date:
    if isinstance(value, datetime):
        return clock.check_day(value.date(), name)
    if isinstance(value, date):
        return clock.check_day(value, name)
    if isinstance(value, str):
        try:
            return clock.check_day(date.fromisoformat(value[:10]), name)
        except ValueError as exc:
            msg = f"{name} is not an ISO 8601 date: {value[:40]!r}"
            raise InputError(msg) from exc
    msg = f"{name} must be a date"
    raise InputError(msg)


def _visit_record(r: Any, tz: ZoneInfo) -> dict[str, Any]:
    done = as_utc(r["done_at"])
    due = r["due_date"]
    local = done.astimezone(tz) if done else None
    return {"visit_id": r["visit_ref"], "inspector_id": r["inspector_id"], "precinct_id": r["precinct_id"],
            "priority": int(r["priority"]), "due_date": due.isoformat(), "plan_id": r["plan_id"] or None,
            "done_at": local.isoformat() if local else None,
            "on_time": (local.date() <= due) if local else None}


def _appeal(r: Any) -> Appeal:
    return Appeal(id=r["id"], received_at=as_utc(r["received_at"]), category=r["category"],  # type: ignore[arg-type]
                  lat=float(r["lat"]), lon=float(r["lon"]), precinct_id=r["precinct_id"],
                  inspector_id=r["inspector_id"], status=r["status"],
                  first_contact_at=as_utc(r["first_contact_at"]), closed_at=as_utc(r["closed_at"]))


def processing_times(appeals: pd.DataFrame) -> pd.DataFrame:
    """Per precinct from an appeals frame (`AppealStore.frame`): ``received, closed,
    first_contact_median_h, first_contact_p90_h, close_median_h, close_p90_h``."""
    cols = ["precinct_id", "received", "closed", "first_contact_median_h", "first_contact_p90_h",
            "close_median_h", "close_p90_h"]
    if len(appeals) == 0:
        return pd.DataFrame(columns=cols)
    a = appeals.copy()
    a["to_contact_h"] = (a["first_contact_at"] - a["received_at"]).dt.total_seconds() / 3600
    a["to_close_h"] = (a["closed_at"] - a["received_at"]).dt.total_seconds() / 3600
    for c in ("to_contact_h", "to_close_h"):  # a time before the receipt never counts (a negative wait)
        a.loc[a[c] < 0, c] = float("nan")
    g = a.groupby("precinct_id")
    out = pd.DataFrame({
        "received": g.size(),
        "closed": g["closed_at"].count(),
        "first_contact_median_h": g["to_contact_h"].median(),
        "first_contact_p90_h": g["to_contact_h"].quantile(0.9),
        "close_median_h": g["to_close_h"].median(),
        "close_p90_h": g["to_close_h"].quantile(0.9),
    }).reset_index()
    return out[cols]


def read_trust_csv(path: Path | str) -> pd.DataFrame:
    """Read survey results: columns ``precinct_id, period, score`` (period: a date such as
    2026-01-01 or a month 2026-01). Scores must be finite numbers."""
    path = Path(path)
    if not path.is_file():
        msg = f"{path.name}: no such survey file"
        raise InputFileError(msg)
    try:
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        msg = f"{path.name}: cannot read the CSV ({exc})"
        raise InputFileError(msg) from exc
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = {"precinct_id", "period", "score"} - set(frame.columns)
    if missing:
        msg = f"{path.name}: missing column(s) {', '.join(sorted(missing))} (need precinct_id, period, score)"
        raise InputFileError(msg)
    problems = []
    rows = []
    for k, r in enumerate(frame.itertuples(index=False), start=2):
        pid = str(r.precinct_id or "").strip()
        try:
            period = pd.Timestamp(str(r.period).strip()).date()
            score = float(str(r.score).replace(",", "."))
            if not math.isfinite(score):
                raise ValueError
        except (TypeError, ValueError):
            problems.append(k)
            continue
        if not pid:
            problems.append(k)
            continue
        rows.append((pid, period, score))
    if problems:
        msg = f"{path.name}: bad precinct_id, period or score on line(s) {', '.join(map(str, problems[:10]))}"
        raise InputFileError(msg)
    return pd.DataFrame(rows, columns=["precinct_id", "period", "score"])


__all__ = [
    "CATEGORIES",
    "STATUSES",
    "Appeal",
    "AppealStore",
    "processing_times",
    "read_trust_csv",
]

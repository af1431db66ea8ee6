"""The rules a time kept with an appeal or a visit record keeps, for new times (`check_done_at`,
refused with a problem naming the field and the rule) and for times already stored
(`checked_appeal_times`, `plausible`: left out of indicators and flagged, never counted on time).

The calendar is `geo_service.clock`'s (2000-01-01 to 2100-12-31) and "the future" is more
than `geo_service.clock.CLOCK_SKEW` (10 minutes) ahead of the server's clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from geo_service import clock
from geo_service.clock import as_utc
from geo_service.errors import InputError

#: A visit may be marked made from the start of its plan's day (the city's local time) until
#: this hour of the next day: a visit that ran late, or a mark entered after midnight.
DONE_GRACE_UNTIL = time(6, 0)


def check_done_at(when: datetime, *, plan_date: date | None, plan_created_at: datetime | None,
                  tz: ZoneInfo) -> datetime:
    """``when`` (aware) when it can be the time a visit of a plan was made, else `InputError`
    naming ``done_at`` and the rule broken:

    * ``year_range``: from 2000-01-01 to 2100-12-31 (`clock.check_moment`);
    * ``not_in_future``: at most `clock.CLOCK_SKEW` ahead of the server's clock;
    * ``not_before_plan``: not before the plan was created (less the same skew);
    * ``within_plan_day``: from 00:00 of the plan's day in the city's time zone ``tz`` to
      `DONE_GRACE_UNTIL` (06:00) of the next day.
    """
    clock.check_moment(when.astimezone(UTC), "done_at")
    clock.check_not_future(when, "done_at")
    created = as_utc(plan_created_at)
    if created is not None and when < created - clock.CLOCK_SKEW:
        msg = (f"done_at {when.isoformat()} is before the plan was created ({created.isoformat()}); "
               "a visit cannot be made on a plan before the plan exists")
        raise InputError(msg, field="done_at", rule="not_before_plan")
    if plan_date is not None:
        first = datetime.combine(plan_date, time(0), tzinfo=tz)
        last = datetime.combine(plan_date + timedelta(days=1), DONE_GRACE_UNTIL, tzinfo=tz)
        if not first <= when < last:
            msg = (f"done_at {when.astimezone(tz).isoformat()} is outside the plan's day {plan_date.isoformat()} "
                   f"(from {first.isoformat()} to {last.isoformat()}, the city's time zone {tz.key})")
            raise InputError(msg, field="done_at", rule="within_plan_day")
    return when


def plausible_done_sql(v: Any) -> tuple[Any, ...]:
    """SQL conditions: a stored ``done_at`` within the accepted calendar and not in the future."""
    return (v.c.done_at >= datetime.combine(clock.FIRST_DAY, time(0), tzinfo=UTC),
            v.c.done_at <= clock.now() + clock.CLOCK_SKEW)


def plausible(times: pd.Series) -> pd.Series:
    """Of UTC times, the ones `clock.is_plausible` accepts (NaT: False)."""
    lo = pd.Timestamp(clock.FIRST_DAY.isoformat(), tz="UTC")
    hi = min(pd.Timestamp(clock.now() + clock.CLOCK_SKEW),
             pd.Timestamp((clock.LAST_DAY + timedelta(days=1)).isoformat(), tz="UTC"))
    return times.notna() & (times >= lo) & (times <= hi)


def checked_appeal_times(appeals: pd.DataFrame) -> pd.DataFrame:
    """An appeals frame (`AppealStore.frame` columns, UTC times) without the stored times that
    break the rules new times are held to, so indicators never count them:

    * an appeal whose ``received_at`` lies outside 2000-2100 or in the future is left out;
    * a ``first_contact_at`` outside the calendar, in the future or before ``received_at``,
      and a ``closed_at`` likewise or before the first contact, are emptied.

    ``time_problem`` names the times left out of each row (None: none);
    ``attrs["ignored_times"]`` counts the rows concerned (left out or emptied)."""
    a = appeals.copy()
    if len(a) == 0:
        a["time_problem"] = pd.Series(dtype=object)
        a.attrs["ignored_times"] = 0
        return a
    bad_received = ~plausible(a["received_at"])
    a = a[~bad_received.to_numpy()].copy()
    fc, cl, rec = a["first_contact_at"], a["closed_at"], a["received_at"]
    bad_fc = fc.notna() & (~plausible(fc) | (fc < rec))
    bad_cl = cl.notna() & (~plausible(cl) | (cl < rec) | (fc.notna() & ~bad_fc & (cl < fc)))
    problem = [",".join(n for n, b in (("first_contact_at", f), ("closed_at", c)) if b) or None
               for f, c in zip(bad_fc.to_numpy(), bad_cl.to_numpy())]
    a.loc[bad_fc, "first_contact_at"] = pd.NaT
    a.loc[bad_cl, "closed_at"] = pd.NaT
    a["time_problem"] = problem
    a.attrs["ignored_times"] = int(bad_received.sum() + (bad_fc | bad_cl).sum())
    return a


__all__ = ["DONE_GRACE_UNTIL", "check_done_at", "checked_appeal_times", "plausible", "plausible_done_sql"]

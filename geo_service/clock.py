"""The service's one clock: every "now" and "today" in the code is read from here.

Production reads the system clock. A test states the moment it needs with `frozen_at`
(the whole process, server threads included, then reads that moment), so no test
depends on the date it happens to run on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from geo_service.errors import InputError

#: The dates the service takes from a user or a file: [2000-01-01, 2100-12-31]. Anything
#: outside is a typing mistake (and year 1 or 9999 overflows date arithmetic).
FIRST_DAY: date = date(2000, 1, 1)
LAST_DAY: date = date(2100, 12, 31)
#: How far ahead of the server's clock a reported time may be: the clocks of phones and of
#: other systems differ a little; a time further ahead is in the future and refused.
CLOCK_SKEW: timedelta = timedelta(minutes=10)

_system: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
_source: Callable[[], datetime] = _system


def now() -> datetime:
    """The current moment, timezone-aware in UTC."""
    return _source()


def today() -> date:
    """The current date in the machine's local time zone (as `datetime.date.today`)."""
    return now().astimezone().date()


def timestamp() -> float:
    """The current moment as POSIX seconds (as `time.time`)."""
    return now().timestamp()


@contextmanager
def frozen_at(moment: datetime | str, *, ticking: bool = True) -> Iterator[datetime]:
    """Set the clock to ``moment`` (aware, or ISO text with an offset) for the block.

    With ``ticking`` the clock runs on from that moment at the real pace, so timeouts
    and rate-limit windows inside the block still move; without it, time stands still.
    """
    global _source  # noqa: PLW0603 - the one settable clock of the process
    start = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if start.tzinfo is None:
        msg = "frozen_at needs a timezone-aware moment"
        raise ValueError(msg)
    start = start.astimezone(UTC)
    began = _system()
    previous = _source
    _source = (lambda: start + (_system() - began)) if ticking else (lambda: start)
    try:
        yield start
    finally:
        _source = previous



def check_day(value: date, name: str) -> date:
    """``value`` when it lies in [`FIRST_DAY`, `LAST_DAY`], else `InputError` naming ``name``."""
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        msg = f"{name} must be a date from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}, not {value.isoformat()}"
        raise InputError(msg, field=name, rule="year_range")
    return value


def check_moment(value: datetime, name: str) -> datetime:
    """``value`` when its UTC date lies in [`FIRST_DAY`, `LAST_DAY`], else `InputError`."""
    if not FIRST_DAY <= value.date() <= LAST_DAY:
        msg = f"{name} must be a time from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}, not {value.isoformat()}"
        raise InputError(msg, field=name, rule="year_range")
    return value


def check_not_future(value: datetime, name: str) -> datetime:
    """``value`` (aware) when it is no more than `CLOCK_SKEW` ahead of `now`, else `InputError`
    naming ``name`` and the rule ``not_in_future``."""
    if value > now() + CLOCK_SKEW:
        minutes = int(CLOCK_SKEW.total_seconds() // 60)
        msg = (f"{name} {value.isoformat()} is in the future (more than {minutes} minutes ahead of the "
               "server's clock); give the time it happened")
        raise InputError(msg, field=name, rule="not_in_future")
    return value


def is_plausible(value: datetime | None) -> bool:
    """Whether a stored time keeps the rules every time taken from a user keeps: its UTC date
    within [`FIRST_DAY`, `LAST_DAY`] and not more than `CLOCK_SKEW` ahead of now. None is not."""
    utc = as_utc(value)
    return utc is not None and FIRST_DAY <= utc.date() <= LAST_DAY and utc <= now() + CLOCK_SKEW


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC (a naive value is taken as UTC); None stays None."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_datetime(value: Any, name: str) -> datetime:
    """A date-time (or a date, at midnight UTC; or ISO 8601 text) checked and in UTC."""
    if isinstance(value, datetime):
        return as_utc(check_moment(value, name))  # type: ignore[return-value]
    if isinstance(value, date):
        check_day(value, name)
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            msg = f"{name} is not an ISO 8601 date-time: {value[:40]!r}"
            raise InputError(msg) from exc
        return as_utc(check_moment(parsed, name))  # type: ignore[return-value]
    msg = f"{name} must be a date-time"
    raise InputError(msg)

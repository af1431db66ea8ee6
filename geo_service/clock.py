"""The service's one clock: every "now" and "today" in the code is read from here.

Production reads the system clock. A test states the moment it needs with `frozen_at`
(the whole process, server threads included, then reads that moment), so no test
depends on the date it happens to run on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

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


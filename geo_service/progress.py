"""How far a long step has got, told to whoever runs it (a queued job), and where it may be cancelled.

A domain loop that knows its progress (the balance's restarts, the schedule's days) calls
`report` once per round: with no job around it costs one context-variable read. A job
(`geo_service.jobs`) runs its step inside `reporting` with a callback that keeps the
latest figures and raises `JobCancelled` when the job was cancelled meanwhile, so a
cancelled job stops at the next round instead of running to its end. A long inner loop that
has no progress to tell calls `check` instead (it raises `JobCancelled` too, and leaves the
progress as it is). Framework-free, foundation floor: every domain may import it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

#: ``callback(step, done, total)``; may raise `JobCancelled`.
Reporter = Callable[[str, int, "int | None"], None]

_REPORTER: ContextVar[Reporter | None] = ContextVar("geo_service_progress", default=None)
_CANCELLED: ContextVar[Callable[[], bool] | None] = ContextVar("geo_service_cancelled", default=None)


class JobCancelled(Exception):  # noqa: N818 - a signal to stop, not an error of the caller
    """Raised from `report` when the job running the step was cancelled."""


def report(step: str, done: int, total: int | None = None) -> None:
    """Tell the job running this step that ``done`` of ``total`` rounds of ``step`` are done
    (nothing outside a job). Raises `JobCancelled` when the job was cancelled."""
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter(step, int(done), None if total is None else int(total))


def check() -> None:
    """Raise `JobCancelled` when the job running this step was cancelled (nothing outside a
    job; cheap enough for every round of an inner loop)."""
    cancelled = _CANCELLED.get()
    if cancelled is not None and cancelled():
        raise JobCancelled


@contextlib.contextmanager
def reporting(callback: Reporter, *, cancelled: Callable[[], bool] | None = None) -> Iterator[None]:
    """Run a block with ``callback`` receiving its `report` calls (and ``cancelled`` asked by `check`)."""
    token, ctoken = _REPORTER.set(callback), _CANCELLED.set(cancelled)
    try:
        yield
    finally:
        _CANCELLED.reset(ctoken)
        _REPORTER.reset(token)


__all__ = ["JobCancelled", "Reporter", "check", "report", "reporting"]

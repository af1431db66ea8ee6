"""Planners' kept results (siting runs, balance proposals): keep, fetch back, JSON-safe;
and long ones as jobs (answered at once, run in the background, fetched when done)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from flask import Response, jsonify

from geo_service import clock
from geo_service.errors import GeoServiceError, InputError, NotFound
from geo_service.jsonsafe import json_safe
from geo_service.unit import checkpoint
from geo_service.web.context import get_store
from geo_service.web.security import audit, current_principal

logger = logging.getLogger(__name__)

#: One job at a time per server process (a balance takes most of a core for a minute).
_JOBS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="geo-service-job")
#: A job still "running" after this long was lost (the process stopped under it).
JOB_LOST_AFTER = dt.timedelta(minutes=30)
#: Jobs running or waiting in one server process; one more is refused (503) until one ends,
#: so a burst of calls cannot queue hours of work behind the one running.
MAX_PENDING_JOBS = 4


class _Pending:
    """The count of jobs running or waiting in this process, and the lock guarding it."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()


_pending = _Pending()


class JobsBusy(GeoServiceError):
    """As many jobs as `MAX_PENDING_JOBS` are running or waiting."""

    status = 503
    title = "Too many jobs"


def pending_jobs() -> int:
    """Jobs running or waiting in this process."""
    with _pending.lock:
        return _pending.count


def _release() -> None:
    with _pending.lock:
        _pending.count -= 1


def keep(kind: str, body: dict[str, Any], *, location: str) -> Response:
    """Keep a result (audited) and answer 201 with its id and a Location of ``location/<id>``."""
    body = json_safe(body)
    rid = get_store().save_result(kind=kind, created_by=current_principal().label, body=body)
    audit(f"{kind}.create", record_type=kind, record_id=rid, outcome="ok")
    resp = jsonify({"id": rid, **body})
    resp.status_code = 201
    resp.headers["Location"] = f"{location}/{rid}"
    return resp


def start_job(kind: str, run: Callable[[], dict[str, Any]], *, location: str) -> tuple[Response, Future]:
    """Keep a ``running`` result, run ``run`` in the background and keep what it returns
    (``status: done``) or why it failed (``status: failed``, the input problem or a
    generic line; the trace goes to the log). Answers 202 with the result's Location;
    `JobsBusy` (503) when `MAX_PENDING_JOBS` are running or waiting already."""
    with _pending.lock:
        if _pending.count >= MAX_PENDING_JOBS:
            msg = (f"{_pending.count} jobs are running or waiting on this server; try again when one has ended, "
                   "or ask with wait: true")
            raise JobsBusy(msg)
        _pending.count += 1
    try:
        store = get_store()
        rid = store.save_result(kind=kind, created_by=current_principal().label, body={"status": "running"})
        audit(f"{kind}.start", record_type=kind, record_id=rid, outcome="ok")
        checkpoint()  # the running result and its audit row committed before the job touches it
    except BaseException:
        _release()
        raise

    def work() -> None:
        try:
            try:
                body = {"status": "done", **json_safe(run())}
            except InputError as exc:
                body = {"status": "failed", "detail": str(exc)}
            except Exception:
                logger.exception("%s job %s failed", kind, rid)
                body = {"status": "failed", "detail": "the job failed; the service log has the details"}
            try:
                store.update_result(rid, body=body)
            except Exception:
                logger.exception("%s job %s: its result could not be kept", kind, rid)
                raise
        finally:
            _release()

    future = _JOBS.submit(work)
    resp = jsonify({"id": rid, "status": "running"})
    resp.status_code = 202
    resp.headers["Location"] = f"{location}/{rid}"
    resp.headers["Retry-After"] = "10"
    return resp, future


def fetch(kind: str, result_id: str) -> Response:
    """A kept result of ``kind``; 404 problem when there is none. A job still running
    answers 202 (with Retry-After); one running for longer than `JOB_LOST_AFTER` was lost."""
    kept = get_store().get_result(result_id, kind=kind)
    if kept is None:
        msg = f"no {kind} result with this id"
        raise NotFound(msg)
    body = kept["body"]
    running = body.get("status") == "running"
    if running and clock.now() - dt.datetime.fromisoformat(kept["created_at"]) > JOB_LOST_AFTER:
        body = {"status": "failed", "detail": "the job was lost (the service stopped while it ran); start it again"}
        running = False
    resp = jsonify({"id": kept["id"], "created_at": kept["created_at"], **body})
    if running:
        resp.status_code = 202
        resp.headers["Retry-After"] = "10"
    return resp

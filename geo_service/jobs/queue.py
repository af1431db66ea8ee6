"""The job queue: Huey on a broker, the jobs table as the truth, workers that run and sweep.

Broker URLs (``JOBS_BROKER``): ``redis://host:6379/0`` (several machines: Huey's RedisHuey),
``sqlite:///path/jobs.db`` (one machine, no server: SqliteHuey; the processes of the
machine share the file), ``memory://`` (one process: a web app's own thread, for tests
and embedding). A message carries the job's id only; the inputs are read from the store.

Huey hands a message to one worker and forgets it: a worker killed mid-job takes the
message with it, and a broker restarted without persistence forgets what it held. So
the jobs table keeps the state, and every worker sweeps (`JobQueue.sweep`, every
``JOB_SWEEP_SECONDS``): a ``running`` job whose heartbeat is older than ``JOB_LOST_SECONDS``
is queued again while it has attempts left (``max_attempts``, 2) and failed with the
reason after; a ``queued`` job that the broker does not hold (and was handed to it over
``JOB_REQUEUE_SECONDS`` ago) is handed to it again. Taking a job is a conditional UPDATE,
so a message sent twice runs once.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo_service import progress
from geo_service.errors import InputError
from geo_service.jobs.kinds import RUNNERS, Outcome, Runtime
from geo_service.jobs.table import JobStore
from geo_service.jsonsafe import json_safe
from geo_service.solvers import highs
from geo_service.store import Store
from geo_service.unit import unit_of_work

if TYPE_CHECKING:
    from huey.api import Huey

logger = logging.getLogger(__name__)

TASK_NAME = "geo_service.run_job"
FAILED = "the job failed; the worker's log has the details"
#: A job thread (`JobQueue.start_thread`) ends after this many seconds without a job.
THREAD_IDLE_S = 5.0
#: How often (seconds) a running job reads whether it was cancelled, between heartbeats: a
#: solver running (HiGHS's interrupt callback) stops within about this long plus its poll.
CANCEL_POLL_S = 1.0


@dataclass(frozen=True)
class Timing:
    """How often a running job beats, when it counts as lost, how often workers sweep."""

    heartbeat_s: float = 5.0
    lost_s: float = 30.0
    requeue_s: float = 30.0
    sweep_s: float = 5.0

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Timing:
        def num(name: str, default: float) -> float:
            value = settings.get(name)
            return float(value) if value not in (None, "") else default

        return cls(heartbeat_s=num("JOB_HEARTBEAT_SECONDS", 5.0), lost_s=num("JOB_LOST_SECONDS", 30.0),
                   requeue_s=num("JOB_REQUEUE_SECONDS", 30.0), sweep_s=num("JOB_SWEEP_SECONDS", 5.0))


def queue_name(store: Store) -> str:
    """The queue's name on the broker: one per database and schema, so stores never share one."""
    return "geo-service-" + hashlib.sha256(f"{store.url}|{store.schema}".encode()).hexdigest()[:12]


def default_broker(store: Store) -> str:
    """The embedded default: a SQLite queue file beside the store's file (or, for a database
    server, beside the default one), shared by the processes of this machine."""
    if store.is_sqlite and "///" in store.url:
        path = Path(store.url.split("///", 1)[1])
        return f"sqlite:///{path.with_name(path.stem + '-jobs.db')}"
    from geo_service.store import default_sqlite_path  # noqa: PLC0415 - one function, one use

    return f"sqlite:///{default_sqlite_path().with_name(queue_name(store) + '.db')}"


def make_huey(url: str, name: str) -> Huey:
    """The Huey instance of a broker URL (bad input names ``JOBS_BROKER``)."""
    from huey import MemoryHuey, RedisHuey, SqliteHuey  # noqa: PLC0415 - on first use (server start-up time)

    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False, read_timeout=1)
    if url.startswith("sqlite:///"):
        path = Path(url.split("///", 1)[1])
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return SqliteHuey(name, filename=str(path), results=False)
    if url == "memory://":
        return MemoryHuey(name, results=False)
    msg = "JOBS_BROKER must be redis://host:port/db, sqlite:///path or memory://"
    raise InputError(msg, field="JOBS_BROKER")


class JobQueue:
    """One store's jobs on one broker: the web side enqueues, the worker side runs and sweeps."""

    def __init__(self, store: Store, broker: str | None = None, *, timing: Timing | None = None) -> None:
        self.store = store
        self.jobs = JobStore(store)
        self.broker = broker or default_broker(store)
        self.huey = make_huey(self.broker, queue_name(store))
        self.timing = timing or Timing()
        self.runtime: Runtime | None = None
        self._task = self.huey.task(name=TASK_NAME)(self._run)
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._threaded = self._wanted = self._stopping = False
        self._next_sweep = 0.0

    # -- the web side ------------------------------------------------------------------
    def enqueue(self, job_id: str) -> bool:
        """Hand a job to the broker; False (logged) when the broker cannot be reached: the job
        stays queued in the store and a worker's sweep hands it over later."""
        try:
            self._task(job_id)
        except Exception as exc:  # noqa: BLE001 - a broker down must not fail the request
            logger.warning("job %s: the broker is unreachable (%s); a worker's sweep will queue it", job_id,
                           type(exc).__name__)
            return False
        self.jobs.mark_enqueued(job_id)
        self._ensure_thread()
        return True

    def pending_ids(self) -> set[str]:
        """The job ids the broker holds now."""
        return {str(t.args[0]) for t in self.huey.pending() if t.args}

    # -- the worker side ---------------------------------------------------------------
    def _run(self, job_id: str) -> None:
        if self.runtime is None:
            logger.error("job %s reached a process that runs no jobs", job_id)
            return
        execute(self, self.runtime, job_id)

    def sweep(self) -> None:
        """Queue again or fail the jobs whose worker stopped; hand the broker the queued jobs it lost."""
        t = self.timing
        for job in self.jobs.lost(t.lost_s):
            last = job["attempts"] >= job["max_attempts"]
            reason = (f"the worker running it stopped (killed, crashed or cut off) on attempt {job['attempts']} "
                      f"of {job['max_attempts']}" + ("; start it again" if last else "; queued again"))
            status = self.jobs.requeue_lost(job, reason)
            logger.warning("job %s (%s): %s", job["id"], job["kind"], reason)
            if status == "queued":
                self.enqueue(job["id"])
            elif status is not None:
                self.store.update_result(job["id"], body={"status": status, "detail": reason})
        stale = self.jobs.stale_queued(t.requeue_s)
        if stale:
            held = self.pending_ids()
            for job_id in stale:
                if job_id in held:
                    self.jobs.mark_enqueued(job_id)
                else:
                    logger.warning("job %s was queued but the broker does not hold it: queued again", job_id)
                    self.enqueue(job_id)

    def sweep_now_and_then(self) -> None:
        """`sweep` when ``sweep_s`` has passed since the last one (errors logged, never raised)."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.timing.sweep_s
        try:
            self.sweep()
        except Exception:  # noqa: BLE001 - the store or broker down: the next sweep tries again
            logger.exception("sweeping the jobs failed")

    def start_thread(self, runtime: Runtime) -> None:
        """Run jobs in a thread of this process (``memory://``: a web app alone, tests): started
        now and again by each `enqueue`, it ends after `THREAD_IDLE_S` without a job."""
        self.runtime = runtime
        self._threaded = True
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        if not self._threaded:
            return
        with self._thread_lock:
            self._wanted = True
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._thread_loop, daemon=True, name="geo-service-jobs")
            self._thread.start()
            _THREADED.add(self)

    def _thread_loop(self) -> None:
        delay, idle_since = 0.02, time.monotonic()
        while True:
            self.sweep_now_and_then()
            try:
                task = self.huey.dequeue()
            except Exception:  # noqa: BLE001 - the broker down: wait and try again
                logger.exception("reading the job queue failed")
                time.sleep(1.0)
                continue
            if task is not None:
                delay = 0.02
                self.huey.execute(task)
                idle_since = time.monotonic()
                continue
            if self._stopping:
                return
            if time.monotonic() - idle_since > THREAD_IDLE_S:
                with self._thread_lock:  # an enqueue meanwhile keeps the thread
                    if not self._wanted:
                        self._thread = None
                        return
                    self._wanted, idle_since = False, time.monotonic()
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)


_THREADED: weakref.WeakSet[JobQueue] = weakref.WeakSet()


@atexit.register
def _stop_threads() -> None:
    """At exit, let job threads end on their own thread (RoutingKit's per-thread queries must be
    dropped by the thread that made them, not by the interpreter's shutdown)."""
    for queue in list(_THREADED):
        queue._stopping = True
        thread = queue._thread
        if thread is not None:
            thread.join(2.0)


class _State:
    """A running job's latest progress and whether it must stop (cancelled, or its claim lost)."""

    def __init__(self) -> None:
        self.progress: dict[str, Any] | None = None
        self.cancel = False
        self.lost = False
        self.done = threading.Event()


def _beat(queue: JobQueue, job_id: str, claim: str, state: _State) -> None:
    """Beat every ``heartbeat_s``, and read the cancel flag every `CANCEL_POLL_S` in between."""
    every = queue.timing.heartbeat_s
    next_beat = time.monotonic() + every
    while not state.done.wait(min(every, CANCEL_POLL_S)):
        try:
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + every
                asked = queue.jobs.beat(job_id, claim, state.progress)
            else:
                asked = queue.jobs.cancel_asked(job_id, claim)
        except Exception:  # noqa: BLE001 - the store down for a moment: beat again next time
            logger.exception("job %s: heartbeat failed", job_id)
            continue
        if asked is None:
            state.lost = True
        elif asked:
            state.cancel = True


def execute(queue: JobQueue, rt: Runtime, job_id: str) -> None:
    """Take the job (unless another worker has, or it was cancelled), run it with a heartbeat,
    and keep its result: done, failed (the input problem or a generic line; the trace goes
    to the log) or cancelled."""
    claim = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not queue.jobs.claim(job_id, claim):
        return
    job = queue.jobs.get(job_id)
    if job is None:
        return
    state = _State()
    beat = threading.Thread(target=_beat, args=(queue, job_id, claim, state), daemon=True, name=f"beat-{job_id}")
    beat.start()

    def reporter(step: str, done: int, total: int | None) -> None:
        state.progress = {"step": step, "done": done, "total": total}
        if state.cancel or state.lost:
            raise progress.JobCancelled

    status, outcome, extra = "failed", None, {}
    detail: str | None = FAILED
    try:
        queue.store.update_result(job_id, body={"status": "running"})
        stop = lambda: state.cancel or state.lost  # noqa: E731 - asked by progress.check and HiGHS
        with progress.reporting(reporter, cancelled=stop), highs.interrupting(stop):
            outcome = RUNNERS[job["kind"]](rt, job, queue.jobs.inputs(job_id))
        status, detail = "done", None
    except (progress.JobCancelled, highs.Interrupted):  # at a progress point, or HiGHS stopped mid-run
        status, detail = "cancelled", "cancelled while it ran"
    except InputError as exc:
        detail = " ".join(str(exc).split())[:400]
        extra = json_safe(dict(exc.extra))  # the field and rule the problem names
    except Exception:  # noqa: BLE001 - kept as the job's reason; the trace goes to the log
        logger.exception("%s job %s failed", job["kind"], job_id)
    finally:
        state.done.set()
    if state.cancel and status == "done":
        status, detail, outcome = "cancelled", "cancelled while it ran", None
    _finish(queue, job, claim, status, detail, outcome, state, extra)


def _finish(queue: JobQueue, job: dict[str, Any], claim: str, status: str, detail: str | None,
            outcome: Outcome | None, state: _State, extra: dict[str, Any]) -> None:
    job_id = job["id"]
    if state.lost:
        logger.warning("job %s: this worker was declared lost meanwhile; its result is dropped", job_id)
        return
    try:
        with unit_of_work():  # the job's end, its result and what it keeps: one transaction
            if not queue.jobs.finish(job_id, claim, status, detail=detail, progress=state.progress):
                return
            body: dict[str, Any] = {"status": status}
            if outcome is not None:  # a result's own "status" (a solver's) wins: the job's is in its row
                body = {**body, **(outcome.keep(outcome.body) if outcome.keep else outcome.body)}
            elif detail:
                body["detail"] = detail
                if extra:
                    body["problem"] = extra
            queue.store.update_result(job_id, body=body)
            queue.store.audit(principal=job["created_by"], action=f"{job['kind']}.{status}", record_type=job["kind"],
                              record_id=job_id, outcome="ok" if status == "done" else status)
    except Exception:  # noqa: BLE001 - keeping the result failed: the job fails with the generic line
        logger.exception("%s job %s: its result could not be kept", job["kind"], job_id)
        with unit_of_work():
            if queue.jobs.finish(job_id, claim, "failed", detail=FAILED):
                queue.store.update_result(job_id, body={"status": "failed", "detail": FAILED})


# -- worker processes (geo-service worker, and the one serve starts) ---------------------------

def die_with_parent() -> None:
    """Linux: this process gets SIGKILL when its parent dies (a worker never outlives its consumer)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the consumer's health check is all there is
        pass


__all__ = ["FAILED", "JobQueue", "Timing", "default_broker", "die_with_parent", "execute", "make_huey", "queue_name"]

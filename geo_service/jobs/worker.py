"""Worker processes: ``geo-service worker``, and the embedded one ``geo-service serve`` forks.

A worker serves the same city as the web instances: before each job it checks the reload
generation an admin's ``POST /admin/reload`` recorded in the store (and the bundle link a
rebuild repoints) and loads the bundle in service when it moved on.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import threading
from pathlib import Path

from geo_service.bundle import CityBundle, load_bundle
from geo_service.errors import InputError
from geo_service.jobs.kinds import Runtime
from geo_service.jobs.queue import JobQueue, Timing, die_with_parent
from geo_service.store import Store

logger = logging.getLogger(__name__)

#: The store's meta row where a reload is recorded (`geo_service.web.views.admin` writes it).
RELOAD_META_KEY = "bundle_reload"
_GROUP = re.compile(r"[A-Za-z0-9._-]{1,64}")


def reload_key(group: str | None) -> str:
    """The meta row of a reload group (``RELOAD_GROUP``): instances serving different bundles on
    one database (one per oblast) follow only their own group's reloads. None: the shared row."""
    if not group:
        return RELOAD_META_KEY
    if not _GROUP.fullmatch(group):
        msg = f"RELOAD_GROUP {group[:80]!r}: use 1-64 letters, digits, '.', '_' or '-'"
        raise InputError(msg)
    return f"{RELOAD_META_KEY}:{group}"


def reload_generation(store: Store, group: str | None = None) -> tuple[int, str | None]:
    """The last reload's generation and bundle path recorded in the store for ``group``
    (0, None: none)."""
    raw = store.get_meta(reload_key(group))
    if not raw:
        return 0, None
    doc = json.loads(raw)
    return int(doc.get("generation", 0)), doc.get("path")


class FollowedCity:
    """The city a worker serves: the configured bundle, or the one the last reload recorded."""

    def __init__(self, bundle: str, store: Store, city: CityBundle | None = None, *,
                 group: str | None = None) -> None:
        self.path = bundle
        self.store = store
        self.group = group
        self.generation = reload_generation(store, group)[0]
        self.city = city if city is not None else load_bundle(bundle)
        self._lock = threading.Lock()

    def __call__(self) -> CityBundle:
        with self._lock:
            try:
                gen, recorded = reload_generation(self.store, self.group)
            except Exception:  # noqa: BLE001 - the store down: keep serving what is loaded
                logger.exception("cannot read the reload generation")
                return self.city
            path = recorded if recorded and gen > self.generation else self.path
            try:
                target = Path(path).resolve(strict=True)
            except (OSError, RuntimeError):
                target = None
            if target is not None and target != self.city.path:
                logger.info("worker %d: loading %s (reload generation %d)", os.getpid(), path, gen)
                self.city = load_bundle(path)
            self.path, self.generation = path, max(gen, self.generation)
            return self.city


def run_worker(bundle: str, store: Store, *, broker: str | None, workers: int = 1, tz: str = "Asia/Almaty",
               timing: Timing | None = None, city: CityBundle | None = None, processes: bool = True,
               reload_group: str | None = None) -> None:
    """Run jobs of ``store`` from ``broker`` (None: the embedded SQLite queue) until stopped,
    following the reloads of ``reload_group``."""
    queue = JobQueue(store, broker, timing=timing)
    runtime = Runtime(store=store, city=FollowedCity(bundle, store, city, group=reload_group), tz=tz)
    from geo_service.jobs.consumer import run_consumer  # noqa: PLC0415 - Huey's consumer: workers only

    run_consumer(queue, runtime, workers=workers, processes=processes)


def fork_embedded(bundle: str, store: Store, city: CityBundle, *, broker: str | None, tz: str,
                  timing: Timing, reload_group: str | None = None) -> int:
    """Fork one worker process that shares the loaded city (copy-on-write) and dies with this
    one; return its pid (the caller stops it with `stop_embedded`)."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        die_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        run_worker(bundle, store, broker=broker, tz=tz, timing=timing, city=city, processes=False,
                   reload_group=reload_group)
    except BaseException:  # noqa: BLE001 - the child must never return into the parent's code
        logger.exception("the embedded jobs worker stopped")
        code = 1
    finally:
        sys.stderr.flush()
        os._exit(code)


def stop_embedded(pid: int) -> None:
    """Stop the embedded worker (a job it runs is taken again by the next one: its heartbeat stops)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return


__all__ = ["RELOAD_META_KEY", "FollowedCity", "fork_embedded", "reload_generation", "reload_key", "run_worker",
           "stop_embedded"]

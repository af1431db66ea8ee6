"""Serving with gunicorn: the bundle is loaded once in the master and shared by the
forked workers (copy-on-write; ``gc.freeze`` keeps the collector from touching it).

A worker forked later (gunicorn respawns one that crashed or was killed) first checks that
the master's bundle is still the one in service, and loads the current one if not
(`geo_service.web.views.admin.catch_up`). Each instance has its own gunicorn control
socket, named after its address (``CONTROL_SOCKET``; ``none`` for no socket), so two
instances on one machine never answer for each other.

A reload under `serve` happens in the master: the worker that answers ``POST /admin/reload``
(or that sees a reload made elsewhere, or the bundle's link repointed by a build) sends the
master SIGHUP; the master loads the bundle in service, builds its snapping trees and CCHs once,
and gunicorn forks new workers that share them copy-on-write, stopping the old ones gracefully.
Each worker loading and warming its own copy instead would hold a private CCH per worker
(`MASTER_PID`; elsewhere, as under the tests' in-process app, workers still load it themselves).

Long jobs (`geo_service.web.jobs`) run outside the web workers. With no ``JOBS_BROKER``,
`serve` forks one jobs worker from the master once the bundle is loaded (it shares the city
copy-on-write and dies with the master) on the SQLite queue file beside the store, so
``geo-service demo`` alone still runs every job; with a broker, ``geo-service worker``
processes (on this machine or others) run them.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from geo_service.bundle import CityBundle, load_bundle
from geo_service.jobs import Timing
from geo_service.jobs.worker import fork_embedded, stop_embedded
from geo_service.lookup.service import Lookup
from geo_service.memory import release_freed_memory
from geo_service.web.app import make_app
from geo_service.web.context import EXTENSION
from geo_service.web.jobs import real_store
from geo_service.web.security import setting
from geo_service.web.views.admin import MASTER_PID, catch_up, warm_reload

logger = logging.getLogger(__name__)


class _Arbiter(Arbiter):
    """Gunicorn's master, which reloads the city itself on SIGHUP (`GunicornApp.refresh_city`)
    and forks new workers only when the bundle in service changed."""

    def reload(self) -> None:
        if self.app.refresh_city():
            super().reload()
        else:
            self.log.info("SIGHUP: the bundle in service is loaded already; the workers stay")


class GunicornApp(BaseApplication):
    """Gunicorn serving an app built already (in the master: the workers fork with it loaded)."""

    def __init__(self, app: Any, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def run(self) -> None:
        try:
            _Arbiter(self).run()
        except RuntimeError as exc:  # what BaseApplication.run does with gunicorn's own errors
            print(f"\nError: {exc}\n", file=sys.stderr, flush=True)
            sys.exit(1)

    def refresh_city(self) -> bool:
        """In the master: load the bundle in service when it is not the one loaded (a reload
        recorded in the store, or the bundle's link repointed) and warm it, so the workers forked
        next share it. False when the loaded one is current (or the new one failed to load)."""
        app = self.application
        before = id(app.extensions.get(EXTENSION))  # no reference kept: the old city must go
        catch_up(app)
        city = app.extensions.get(EXTENSION)
        if city is None or id(city) == before:
            return False
        prepare_city(city)
        logger.info("master %d: %s %s loaded and warmed; new workers fork with it", os.getpid(),
                    city.manifest.get("city"), city.manifest.get("bundle_version"))
        return True

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key.lower(), value)

    def load(self) -> Any:
        return self.application


def control_socket(setting: str | None, host: str, port: int) -> str | None:
    """The gunicorn control socket of the instance on ``host:port``; None for no socket.

    ``setting`` (``CONTROL_SOCKET``): unset gives ``geo-service-<host>-<port>.ctl`` in
    ``$XDG_RUNTIME_DIR`` (else ``~/.gunicorn``), one per instance; ``none`` (or ``off``)
    gives none; anything else is the path itself.
    """
    if setting is not None and setting.strip().lower() in ("none", "off", "false", "0", ""):
        return None
    if setting:
        return setting
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(runtime) if runtime and Path(runtime).is_dir() else Path.home() / ".gunicorn"
    return str(folder / f"geo-service-{re.sub(r'[^A-Za-z0-9.-]', '_', host)}-{port}.ctl")


def gunicorn_options(app: Flask, *, host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """The gunicorn settings `serve` runs with."""
    ctl = control_socket(app.config.get("CONTROL_SOCKET"), host, port)

    def post_fork(_server: Any, _worker: Any) -> None:
        catch_up(app)

    return {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
            "preload_app": True, "worker_class": "gthread", "accesslog": "-",
            # Only the path is logged, never the query string (it may hold an address).
            "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms',
            "post_fork": post_fork,
            "control_socket": ctl, "control_socket_disable": ctl is None,
            # gunicorn trusts headers with underscores (a SCRIPT_NAME request header becomes the
            # app's mount point in every link of a page) and X-Forwarded-Proto from these
            # addresses, 127.0.0.1 by default: any local client. Nobody is trusted here; a real
            # proxy in front is declared to the app itself (its proxy setting, README).
            "forwarded_allow_ips": ""}


def serve(bundle: str, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 2,
          threads: int = 4) -> None:
    """Load ``bundle`` and serve the API with gunicorn until stopped."""
    city = load_bundle(bundle)
    prepare_city(city)
    app = make_app({"CITY": city, "BUNDLE": str(bundle), MASTER_PID: os.getpid()})
    warm_reload(app)  # opens the store before the workers fork
    start_jobs_worker(app, city, str(bundle))
    logger.info("serving %s on http://%s:%d with %d workers", city.manifest["city"], host, port, workers)
    del city  # the app holds it: a reload in the master must be able to let it go
    GunicornApp(app, gunicorn_options(app, host=host, port=port, workers=workers, threads=threads)).run()


def prepare_city(city: CityBundle) -> None:
    """Build the lookup indexes, snapping trees and CCHs in the master, before the workers fork
    and share them; then move the city out of the collector's sight, so it neither slows requests
    down (a 100,000-point shapely call ran 4x slower with big graphs tracked) nor touches the
    pages the forked workers share. A city replaced by a reload is collected first (its lookup
    refers back to it: a cycle the frozen generation would keep)."""
    city.cached("lookup", lambda: Lookup(city)).warm()
    gc.unfreeze()
    gc.collect()
    release_freed_memory()  # the old city's C heap (its CCHs) back to the system, before the forks
    gc.freeze()


def start_jobs_worker(app: Flask, city: CityBundle, bundle: str) -> int | None:
    """Fork the embedded jobs worker when no broker is configured (``JOBS_WORKER`` unset or
    ``process``); the web workers then only queue jobs. Returns its pid (None: none forked)."""
    broker, mode = setting("JOBS_BROKER", app), setting("JOBS_WORKER", app)
    pid = None
    if not broker and mode in (None, "", "process"):
        pid = fork_embedded(bundle, real_store(app), city, broker=None,
                            tz=str(setting("TIME_ZONE", app) or "UTC"), timing=Timing.from_settings(dict(app.config)),
                            reload_group=setting("RELOAD_GROUP", app) or None)
        atexit.register(stop_embedded, pid)
        logger.info("jobs: an embedded worker (pid %d) on the SQLite queue beside the store", pid)
    if mode in (None, "", "process"):
        app.config["JOBS_WORKER"] = "external"  # the web workers queue jobs; workers run them
    return pid

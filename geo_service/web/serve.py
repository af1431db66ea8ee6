"""Serving with gunicorn: the bundle is loaded once in the master and shared by the
forked workers (copy-on-write; ``gc.freeze`` keeps the collector from touching it)."""

from __future__ import annotations

import gc
import logging
from typing import Any

from gunicorn.app.base import BaseApplication

from geo_service.bundle import load_bundle
from geo_service.lookup.service import Lookup
from geo_service.web.app import make_app
from geo_service.web.views.admin import warm_reload

logger = logging.getLogger(__name__)


class GunicornApp(BaseApplication):
    """Gunicorn serving an app built already (in the master: the workers fork with it loaded)."""

    def __init__(self, app: Any, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key.lower(), value)

    def load(self) -> Any:
        return self.application


def serve(bundle: str, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 2,
          threads: int = 4) -> None:
    """Load ``bundle`` and serve the API with gunicorn until stopped."""
    city = load_bundle(bundle)
    # Build the lookup indexes in the master, before the workers fork and share them.
    city.cached("lookup", lambda: Lookup(city)).warm()
    # The city lives as long as the process: move it out of the collector's sight, so
    # it neither slows requests down (a 100,000-point shapely call ran 4x slower with
    # big graphs tracked) nor touches the pages the forked workers share.
    gc.collect()
    gc.freeze()
    app = make_app({"CITY": city, "BUNDLE": str(bundle)})
    warm_reload(app)  # opens the store before the workers fork
    logger.info("serving %s on http://%s:%d with %d workers", city.manifest["city"], host, port, workers)
    GunicornApp(app, {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                    "preload_app": True, "worker_class": "gthread", "accesslog": "-",
                    # Only the path is logged, never the query string (it may hold an address).
                    "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'}).run()

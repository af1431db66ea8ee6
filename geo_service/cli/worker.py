"""``geo-service worker``: run queued jobs in worker processes, beside the web instances."""

from __future__ import annotations

import argparse

from geo_service.config import load_config
from geo_service.errors import InputError
from geo_service.jobs import Timing
from geo_service.jobs.worker import reload_key, run_worker
from geo_service.store import open_store


def run_worker_command(args: argparse.Namespace) -> int:
    """Run until SIGTERM or SIGINT (SIGINT lets the running jobs end first)."""
    settings = load_config()
    if args.workers < 1 or args.workers > 64:
        raise InputError("--workers must be 1 to 64")
    broker = args.broker or settings.get("JOBS_BROKER") or None
    if broker == "memory://":
        raise InputError("--broker memory:// is private to one process; use redis:// or sqlite:///path")
    store = open_store(args.database_url or settings.get("DATABASE_URL"))
    group = settings.get("RELOAD_GROUP") or None
    reload_key(group)  # a bad group is one readable line before anything starts
    run_worker(args.bundle, store, broker=broker, workers=args.workers,
               tz=str(settings.get("TIME_ZONE") or "UTC"), timing=Timing.from_settings(settings),
               reload_group=group)
    return 0

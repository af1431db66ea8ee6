"""Huey's consumer running the jobs of one `JobQueue`: ``geo-service worker`` and the worker
``geo-service serve`` forks (imported there only, so a web process that only queues jobs does
not load Huey's consumer)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from huey.consumer import Consumer, Worker

from geo_service.jobs.kinds import Runtime
from geo_service.jobs.queue import JobQueue, die_with_parent

logger = logging.getLogger(__name__)


class SweepingWorker(Worker):
    """Huey's worker, sweeping the jobs table between messages."""

    queue: JobQueue | None = None

    def initialize(self) -> None:
        die_with_parent()
        super().initialize()

    def loop(self, now: Any = None) -> None:
        if self.queue is not None:
            self.queue.sweep_now_and_then()
        super().loop(now)


class JobConsumer(Consumer):
    """Huey's consumer with `SweepingWorker` workers bound to one `JobQueue`."""

    def __init__(self, queue: JobQueue, **options: Any) -> None:
        self.job_queue = queue
        super().__init__(queue.huey, **options)

    def _create_worker(self) -> Worker:
        worker = SweepingWorker(huey=self.huey, stop_flag=self.stop_flag, default_delay=self.default_delay,
                                max_delay=self.max_delay, backoff=self.backoff, max_tasks=self.max_tasks)
        worker.queue = self.job_queue
        return worker


def run_consumer(queue: JobQueue, runtime: Runtime, *, workers: int = 1, processes: bool = True,
                 on_start: Callable[[], None] | None = None) -> None:
    """Run jobs until SIGTERM or SIGINT (the main thread of this process): ``workers``
    worker processes (or threads), each sweeping now and then."""
    queue.runtime = runtime
    consumer = JobConsumer(queue, workers=max(1, workers), worker_type="process" if processes else "thread",
                           periodic=False, initial_delay=0.05, backoff=1.3, max_delay=0.5,
                           check_worker_health=True, health_check_interval=2)
    if on_start is not None:
        on_start()
    logger.info("jobs worker %d: %d %s on %s", os.getpid(), max(1, workers), "processes" if processes else "threads",
                queue.broker.split("@")[-1])
    consumer.run()


__all__ = ["JobConsumer", "SweepingWorker", "run_consumer"]

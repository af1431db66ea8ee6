"""Long work as queued jobs: the jobs table, the broker (Huey), the runners, the workers.

Below the web face and above the domains: it runs balance, schedule and siting in worker
processes (`geo-service worker`, or the one `geo-service serve` forks) and never imports
Flask. `geo_service.web.jobs` queues jobs and answers for them over HTTP.
"""

from geo_service.jobs.kinds import RUNNERS, Outcome, Runtime
from geo_service.jobs.queue import JobQueue, Timing
from geo_service.jobs.table import JobStore

__all__ = ["RUNNERS", "JobQueue", "JobStore", "Outcome", "Runtime", "Timing"]

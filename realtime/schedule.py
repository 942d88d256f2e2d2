"""The table of periodic jobs (contract section 4), and the in-process scheduler.

Each domain app registers its jobs, plain functions, from its ``ready()``
(``register_job``); this module knows none of them. With ``REDIS_URL`` Celery
beat sends ``realtime.tasks.run_job`` for each on its interval (see
``opsconsole/celery.py``); without it the web process runs them itself with
:class:`InProcessScheduler`. One implementation of each job, two schedulers.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from opsconsole import telemetry

logger = logging.getLogger(__name__)


PERIODIC_QUEUE = "celery"  # Celery's default queue
NOTIFICATIONS_QUEUE = "notifications"  # sends: never in front of a periodic job


@dataclass(frozen=True)
class Job:
    name: str
    function: Callable[[], object]  # takes no arguments; what it returns is only logged by tests
    interval_setting: str
    queue: str = PERIODIC_QUEUE  # the Celery queue its runs go to; in-process, its lane of threads

    @property
    def interval(self) -> float:
        return float(getattr(settings, self.interval_setting))


_jobs: dict[str, Job] = {}


def register_job(name: str, function: Callable[[], object], interval_setting: str, queue: str = PERIODIC_QUEUE) -> None:
    """Add a periodic job; apps call it from ``AppConfig.ready``, once per name."""
    job = Job(name, function, interval_setting, queue)
    if _jobs.get(name, job) != job:
        raise ValueError(f"A different periodic job is already named {name!r}")
    _jobs[name] = job


def registered_jobs() -> tuple[Job, ...]:
    """Every registered job, in registration order (the order of INSTALLED_APPS)."""
    return tuple(_jobs.values())


def job_named(name: str) -> Job:
    try:
        return _jobs[name]
    except KeyError:
        raise KeyError(f"No periodic job named {name!r}") from None


def run_job(name: str) -> object:
    """Run one job now, in this thread, with a fresh database connection; counted and timed for GET /metrics."""
    job = job_named(name)
    close_old_connections()
    started = time.monotonic()
    try:
        return job.function()
    except Exception:
        telemetry.job_failures.labels(name).inc()
        raise
    finally:
        telemetry.job_runs.labels(name).inc()
        telemetry.job_duration.labels(name).observe(time.monotonic() - started)
        close_old_connections()


class InProcessScheduler:
    """Runs every job on its interval inside the server's event loop.

    Jobs run in worker threads (they use the ORM) while the publishing they do
    hops back to this loop, where the in-memory channel layer lives. Each
    queue has threads of its own, one per job, as Celery has a worker per
    queue: a notification pass never takes a thread a periodic job needs. A
    job never overlaps itself; a failing job is logged and tried again next time.
    """

    def __init__(self, jobs: tuple[Job, ...] | None = None) -> None:
        self.jobs = registered_jobs() if jobs is None else jobs
        self.tasks: list[asyncio.Task[None]] = []
        self.lanes = {
            queue: ThreadPoolExecutor(
                max_workers=sum(job.queue == queue for job in self.jobs), thread_name_prefix=f"jobs-{queue}"
            )
            for queue in {job.queue for job in self.jobs}
        }

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.tasks = [loop.create_task(self._run_forever(job), name=f"job:{job.name}") for job in self.jobs]
        logger.info("In-process scheduler started: %s", ", ".join(job.name for job in self.jobs))

    async def _run_forever(self, job: Job) -> None:
        run = sync_to_async(run_job, thread_sensitive=False, executor=self.lanes[job.queue])
        while True:
            started = time.monotonic()
            try:
                await run(job.name)
            except Exception:
                logger.exception("Periodic job %s failed", job.name)
            await asyncio.sleep(max(0.0, job.interval - (time.monotonic() - started)))

    def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for lane in self.lanes.values():
            lane.shutdown(wait=False, cancel_futures=True)


_scheduler: InProcessScheduler | None = None


def ensure_in_process_scheduler() -> None:
    """Start the embedded scheduler once per process; a no-op when Celery beat schedules."""
    global _scheduler
    if settings.REDIS_URL or _scheduler is not None:
        return
    scheduler = InProcessScheduler()
    scheduler.start()
    _scheduler = scheduler

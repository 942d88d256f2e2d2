"""The periodic jobs of contract section 4, and the in-process scheduler.

Each job is a plain function named here once. With ``REDIS_URL`` Celery beat
sends ``realtime.tasks.run_job`` for each on its interval (see
``opsconsole/celery.py``); without it the web process runs them itself with
:class:`InProcessScheduler`. One implementation of each job, two schedulers.
"""

import asyncio
import logging
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    function: str  # dotted path to a function taking no arguments
    interval_setting: str

    @property
    def interval(self):
        return getattr(settings, self.interval_setting)


JOBS = (
    Job("collect-host-metrics", "metrics.collector.collect_host_metrics", "OPSCONSOLE_COLLECT_INTERVAL"),
    Job("broadcast-metrics", "metrics.services.broadcast_latest", "OPSCONSOLE_METRICS_BROADCAST_INTERVAL"),
    Job("evaluate-alert-rules", "alerts.rules.evaluate_rules", "OPSCONSOLE_RULES_INTERVAL"),
    Job("apply-silences", "alerts.services.apply_silences", "OPSCONSOLE_RULES_INTERVAL"),
    Job("deliver-notifications", "alerts.notifications.deliver_notifications", "OPSCONSOLE_NOTIFY_INTERVAL"),
    Job("broadcast-alert-summary", "alerts.services.broadcast_alert_summary", "OPSCONSOLE_SUMMARY_INTERVAL"),
    Job("retention", "metrics.retention.apply_retention", "OPSCONSOLE_RETENTION_INTERVAL"),
)


def job_named(name):
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(f"No periodic job named {name!r}")


def run_job(name):
    """Run one job now, in this thread, with a fresh database connection."""
    close_old_connections()
    try:
        return import_string(job_named(name).function)()
    finally:
        close_old_connections()


class InProcessScheduler:
    """Runs every job on its interval inside the server's event loop.

    Jobs run in worker threads (they use the ORM) while the publishing they do
    hops back to this loop, where the in-memory channel layer lives. A job
    never overlaps itself; a failing job is logged and tried again next time.
    """

    def __init__(self, jobs=JOBS):
        self.jobs = jobs
        self.tasks = []

    def start(self):
        loop = asyncio.get_running_loop()
        self.tasks = [loop.create_task(self._run_forever(job), name=f"job:{job.name}") for job in self.jobs]
        logger.info("In-process scheduler started: %s", ", ".join(job.name for job in self.jobs))

    async def _run_forever(self, job):
        run = sync_to_async(run_job, thread_sensitive=False)
        while True:
            started = time.monotonic()
            try:
                await run(job.name)
            except Exception:
                logger.exception("Periodic job %s failed", job.name)
            await asyncio.sleep(max(0.0, job.interval - (time.monotonic() - started)))

    def stop(self):
        for task in self.tasks:
            task.cancel()


_scheduler = None


def ensure_in_process_scheduler():
    """Start the embedded scheduler once per process; a no-op when Celery beat schedules."""
    global _scheduler
    if settings.REDIS_URL or _scheduler is not None:
        return
    scheduler = InProcessScheduler()
    scheduler.start()
    _scheduler = scheduler

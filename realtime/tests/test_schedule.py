"""One implementation of each periodic job, two schedulers that both run every one."""

import asyncio

import pytest

from opsconsole.celery import app
from realtime.schedule import InProcessScheduler, job_named, register_job, registered_jobs

CONTRACT_JOBS = {
    "collect-host-metrics",
    "broadcast-metrics",
    "evaluate-alert-rules",
    "broadcast-alert-summary",
    "retention",
}


def test_the_job_table_has_every_job_of_the_contract():
    assert {job.name for job in registered_jobs()} >= CONTRACT_JOBS


def test_celery_beat_schedules_every_job_at_its_interval():
    import realtime.tasks  # noqa: F401 - what the worker's autodiscovery imports

    app.finalize()
    schedule = app.conf.beat_schedule
    for job in registered_jobs():
        entry = schedule[job.name]
        assert entry["task"] == "realtime.tasks.run_job" and entry["task"] in app.tasks
        assert entry["args"] == (job.name,)
        assert entry["schedule"] == job.interval


@pytest.mark.django_db(transaction=True)
async def test_the_in_process_scheduler_runs_a_job_on_its_interval(settings):
    from channels.db import database_sync_to_async

    from metrics.models import Sample, Series

    settings.OPSCONSOLE_COLLECT_INTERVAL = 0.1
    scheduler = InProcessScheduler(jobs=(job_named("collect-host-metrics"),))
    scheduler.start()
    await asyncio.sleep(0.55)
    scheduler.stop()
    await asyncio.sleep(0.1)  # let a run in flight finish

    def cpu_samples():
        series = Series.objects.filter(name="cpu_percent")
        return Sample.objects.filter(series__in=series).count()

    assert 4 <= await database_sync_to_async(cpu_samples)() <= 8


def test_a_name_cannot_be_registered_for_two_different_jobs():
    with pytest.raises(ValueError, match="already named 'retention'"):
        register_job("retention", print, "OPSCONSOLE_RETENTION_INTERVAL")


def test_registering_the_same_job_again_is_harmless():
    job = job_named("retention")
    register_job(job.name, job.function, job.interval_setting)
    assert registered_jobs().count(job) == 1

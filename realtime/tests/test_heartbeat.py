"""The worker's and beat's heartbeats, which /readyz reads in the services shape."""

import time

from celery import Celery
from django.core.cache import cache

from opsconsole.celery import app
from realtime import heartbeat


def forget(role):
    cache.delete(heartbeat._key(role))


def test_beat_sends_the_worker_s_heartbeat_task_every_interval_expiring_after_one():
    import realtime.tasks  # noqa: F401 - what the worker's autodiscovery imports

    app.finalize()
    entry = app.conf.beat_schedule["heartbeat"]
    assert entry["task"] == "realtime.tasks.heartbeat" and entry["task"] in app.tasks
    assert entry["schedule"] == heartbeat.HEARTBEAT_INTERVAL_SECONDS
    assert entry["options"]["expires"] == heartbeat.HEARTBEAT_INTERVAL_SECONDS


def test_beat_runs_the_heartbeat_scheduler():
    assert app.conf.beat_scheduler == "realtime.heartbeat:HeartbeatScheduler"


def test_the_heartbeat_task_records_the_worker_s_heartbeat():
    from realtime.tasks import heartbeat as heartbeat_task

    forget("worker")
    heartbeat_task()
    age = heartbeat.heartbeat_age("worker")
    assert age is not None and age < 1
    assert heartbeat.heartbeat_problem("worker") is None


def test_a_beat_tick_records_beat_s_heartbeat_and_wakes_again_within_5_s(tmp_path):
    # An app of its own with nothing scheduled: a tick then sends no task anywhere.
    quiet = Celery("quiet", broker="memory://", set_as_current=False)
    quiet.conf.beat_schedule = {}
    scheduler = heartbeat.HeartbeatScheduler(app=quiet, schedule_filename=str(tmp_path / "schedule"))
    forget("beat")
    try:
        sleep = scheduler.tick()
    finally:
        scheduler.close()
    age = heartbeat.heartbeat_age("beat")
    assert age is not None and age < 1
    assert 0 <= sleep <= heartbeat.TICK_EVERY_SECONDS


def test_a_heartbeat_is_stale_after_30_s_and_missing_when_never_recorded():
    cache.set(heartbeat._key("beat"), time.time() - heartbeat.STALE_AFTER_SECONDS + 5)
    assert heartbeat.heartbeat_problem("beat") is None
    cache.set(heartbeat._key("beat"), time.time() - heartbeat.STALE_AFTER_SECONDS - 5)
    assert heartbeat.heartbeat_problem("beat") == "last beat heartbeat 35 s ago (stale after 30 s)"
    forget("beat")
    assert heartbeat.heartbeat_problem("beat") == "no beat heartbeat recorded"

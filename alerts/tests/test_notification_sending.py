"""Sending never blocks anything: its own queue and lane, concurrent sends, leases, a killed sender."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from alerts.models import Alert, AlertRule, Delivery, NotificationChannel
from alerts.notifications import deliver_notifications, dispatch_notifications
from alerts.notifications.dispatch import claim, send_and_record
from alerts.tests.factories import make_alert
from alerts.tests.receivers import Receiver, Silent
from metrics.points import Point, tags_key
from metrics.services import ingest_points
from opsconsole.celery import app
from realtime.schedule import InProcessScheduler, job_named
from realtime.tests.streams import published_count
from realtime.topics import ALERTS

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def queue_alerts(count):
    return [make_alert() for _ in range(count)]


def wait_until(condition, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def test_an_8_second_receiver_with_100_due_delays_no_summary_push_and_no_rule_evaluation(settings):
    settings.OPSCONSOLE_NOTIFY_INTERVAL = settings.OPSCONSOLE_SUMMARY_INTERVAL = 0.5
    settings.OPSCONSOLE_RULES_INTERVAL = 0.5
    slow = Receiver(delay=8)
    NotificationChannel.objects.create(name="slow", kind="webhook", url=slow.url)
    queue_alerts(100)
    AlertRule.objects.create(name="hot", metric="temp", threshold=90, title="Hot {host}", tags={"host": "r1"})
    jobs = tuple(
        job_named(name) for name in ("deliver-notifications", "broadcast-alert-summary", "evaluate-alert-rules")
    )
    summaries_before = published_count(ALERTS, "alert_summary")

    async def run():
        scheduler = InProcessScheduler(jobs)
        scheduler.start()
        try:
            await asyncio.sleep(3)  # every send slot of the channel is now held by the 8 s receiver
            reported = time.monotonic()
            point = Point("temp", tags_key({"host": "r1"}), {"host": "r1"}, timezone.now(), 95.0)
            await asyncio.to_thread(ingest_points, [point])
            fired = await asyncio.to_thread(wait_until, lambda: Alert.objects.filter(rule__name="hot").exists(), 3.0)
            return fired, time.monotonic() - reported
        finally:
            scheduler.stop()

    try:
        fired, took = asyncio.run(run())
        assert slow.requests, "the slow receiver was being sent to"
        assert fired and took < 1.5, f"rule evaluation waited {took:.1f} s"
        summaries = published_count(ALERTS, "alert_summary") - summaries_before
        assert summaries >= 6  # about 0.5 s apart over ~3.5 s, none held up by the sends
    finally:
        slow.close()


def test_a_3_second_receiver_with_60_due_gets_each_exactly_once(settings):
    settings.OPSCONSOLE_NOTIFY_TIMEOUT = 5
    settings.OPSCONSOLE_NOTIFY_CONCURRENCY = settings.OPSCONSOLE_NOTIFY_PER_CHANNEL = 20
    slow = Receiver(delay=3)
    NotificationChannel.objects.create(name="slow", kind="webhook", url=slow.url)
    queue_alerts(60)
    try:
        # Passes keep coming while sends are under way, as the scheduler makes them.
        assert wait_until(
            lambda: dispatch_notifications() >= 0 and not Delivery.objects.exclude(status="sent").exists(), 30, 0.25
        )
        ids = [headers["webhook-id"] for _, headers, _ in slow.requests]
        assert len(ids) == 60 and len(set(ids)) == 60
        assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
        for delivery in Delivery.objects.all():  # sent_at is when it went, not when the pass began
            assert delivery.sent_at is not None and delivery.sent_at - delivery.created_at >= timedelta(seconds=3)
    finally:
        slow.close()


def test_a_receiver_that_never_answers_delays_another_channel_by_under_2_seconds(settings):
    settings.OPSCONSOLE_NOTIFY_TIMEOUT = 10
    dead, healthy = Silent(), Receiver()
    NotificationChannel.objects.create(name="dead", kind="webhook", url=dead.url)
    NotificationChannel.objects.create(name="healthy", kind="webhook", url=healthy.url)
    try:
        queue_alerts(10)  # 10 for each channel
        started = time.monotonic()
        assert wait_until(lambda: dispatch_notifications() >= 0 and len(healthy.requests) == 10, 2.0, 0.1)
        assert time.monotonic() - started < 2.0
        assert Delivery.objects.filter(channel__name="dead", status="sent").count() == 0
    finally:
        dead.close()
        healthy.close()


def _database_url():
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    from tests.live import with_database

    return with_database(os.environ["DATABASE_URL"], name)


def test_a_sender_killed_mid_send_sends_once_more_after_its_lease(settings):
    settings.OPSCONSOLE_NOTIFY_TIMEOUT = 5

    def hold_the_first(receiver, number, headers, body):
        if number == 1:
            time.sleep(30)  # the worker is killed meanwhile
        return 200, {}

    held = Receiver(hold_the_first)
    NotificationChannel.objects.create(name="hook", kind="webhook", url=held.url)
    make_alert()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "OPSCONSOLE_NOTIFY_TIMEOUT": "5",
        "OPSCONSOLE_WEBHOOK_DENY_NETWORKS": "169.254.0.0/16",
    }
    script = (
        "import django, time; django.setup();"
        "from alerts.notifications import dispatch_notifications; dispatch_notifications(); time.sleep(60)"
    )
    worker = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env)
    try:
        assert wait_until(lambda: len(held.requests) == 1, 20, 0.01), "the worker started its send"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        delivery = Delivery.objects.get()
        assert delivery.status == "sending" and delivery.attempts == 1 and delivery.claimed_until is not None
        assert deliver_notifications() == {}  # the lease still holds: nobody sends it twice
        assert deliver_notifications(now=delivery.claimed_until + timedelta(seconds=1)) == {"sent": 1}
        delivery.refresh_from_db()
        assert len(held.requests) == 2 and delivery.attempts == 2 and delivery.status == "sent"
        assert held.requests[0][1]["webhook-id"] == held.requests[1][1]["webhook-id"]  # one message, two attempts
    finally:
        worker.kill()
        held.close()


def test_notification_passes_go_to_a_celery_queue_of_their_own():
    app.loader.import_default_modules()
    schedule = {
        entry["task"] + ":" + (str(entry["args"][0]) if entry["args"] else ""): entry["options"]["queue"]
        for entry in _beat_entries()
    }
    assert schedule["realtime.tasks.run_job:deliver-notifications"] == "notifications"
    assert {queue for name, queue in schedule.items() if "deliver-notifications" not in name} == {"celery"}
    assert set(django_settings.CELERY_TASK_QUEUES) == {"celery", "notifications"}  # a plain worker takes both


def _beat_entries():
    from opsconsole.celery import schedule_periodic_jobs

    entries = []

    class Recorder:
        def add_periodic_task(self, interval, signature, name):
            entries.append({"task": signature.task, "args": signature.args, "options": signature.options})

        def signature(self, *args, **kwargs):
            return app.signature(*args, **kwargs)

    schedule_periodic_jobs(Recorder())
    return entries


def test_a_failing_channel_gets_one_send_at_a_time_until_one_succeeds(settings):
    settings.OPSCONSOLE_NOTIFY_PER_CHANNEL = 4
    spans = []

    def slow_failure(receiver, number, headers, body):
        started = time.monotonic()
        time.sleep(0.3)
        spans.append((started, time.monotonic()))
        return 503, {}

    failing = Receiver(slow_failure)
    NotificationChannel.objects.create(name="failing", kind="webhook", url=failing.url)
    queue_alerts(10)
    try:
        assert deliver_notifications(now=timezone.now()) == {"pending": 10}
        first_answer = min(end for _, end in spans)
        later = sorted(span for span in spans if span[0] > first_answer)
        assert len(later) >= 5  # what was left went one after another...
        assert all(
            after[0] >= before[1] for before, after in zip(later, later[1:], strict=False)
        )  # ...never side by side
        assert max(sum(start < end_ and start_ < end for start_, end_ in spans) for start, end in spans) <= 4
    finally:
        failing.close()


def test_a_batch_starts_no_send_after_a_failed_one_and_puts_the_rest_back_uncounted():
    failing = Receiver(lambda receiver, number, headers, body: (503, {}))
    channel = NotificationChannel.objects.create(name="failing", kind="webhook", url=failing.url)
    queue_alerts(3)
    try:
        ids = list(Delivery.objects.filter(channel=channel).order_by("id").values_list("id", flat=True))
        outcome = send_and_record(claim(ids, timezone.now), timezone.now)
        assert outcome.statuses == ["pending"] and len(failing.requests) == 1
        first, *rest = Delivery.objects.filter(pk__in=ids).order_by("id")
        assert (first.status, first.attempts, first.response_code) == ("pending", 1, 503)
        assert [(row.status, row.attempts, row.claimed_until) for row in rest] == [("pending", 0, None)] * 2
    finally:
        failing.close()


def test_a_healthy_receiver_gets_a_batch_in_order_each_recorded_as_sent_once():
    healthy = Receiver()
    channel = NotificationChannel.objects.create(name="healthy", kind="webhook", url=healthy.url)
    queue_alerts(5)
    try:
        ids = list(Delivery.objects.filter(channel=channel).order_by("id").values_list("id", flat=True))
        assert claim(ids, timezone.now)[0].pk == ids[0]
        assert claim(ids, timezone.now) == []  # claimed already: nobody takes them twice
        Delivery.objects.filter(pk__in=ids).update(status="pending", attempts=0, claimed_until=None)
        assert send_and_record(claim(ids, timezone.now), timezone.now).statuses == ["sent"] * 5
        assert [headers["webhook-id"] for _, headers, _ in healthy.requests] == [
            f"opsconsole-delivery-{i}" for i in ids
        ]
        assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 1)}
    finally:
        healthy.close()

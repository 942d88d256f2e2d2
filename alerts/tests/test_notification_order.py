"""Order per alert and channel, resolutions that always get through, repeats of unacknowledged alerts."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from alerts import services
from alerts.models import Delivery, NotificationChannel, Silence
from alerts.notifications import deliver_notifications, queue_repeats
from alerts.tests.factories import make_alert
from alerts.tests.receivers import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def failing_first_two_fired(receiver, number, headers, body):
    fired_so_far = sum(json.loads(b)["event"] == "alert.fired" for _, _, b in receiver.requests)
    return (503 if json.loads(body)["event"] == "alert.fired" and fired_so_far <= 2 else 200), {}


@pytest.fixture
def receiver():
    flaky = Receiver(failing_first_two_fired)
    yield flaky
    flaky.close()


def test_a_receiver_failing_the_first_two_attempts_of_fired_gets_fired_before_resolved(receiver):
    NotificationChannel.objects.create(name="hook", kind="webhook", url=receiver.url)
    alert = make_alert()
    services.resolve(alert.pk, "alice", "fixed")
    now = timezone.now()
    for step in range(0, 60, 2):  # passes every 2 s of a clock that stands still in each
        deliver_notifications(now=now + timedelta(seconds=step))
    assert receiver.events() == [(alert.pk, "alert.fired")] * 3 + [(alert.pk, "alert.resolved")]
    assert list(Delivery.objects.order_by("id").values_list("event", "status", "attempts")) == [
        ("alert.fired", "sent", 3),
        ("alert.resolved", "sent", 1),
    ]


def test_another_alert_does_not_wait_for_one_being_retried(receiver):
    NotificationChannel.objects.create(name="hook", kind="webhook", url=receiver.url)
    first = make_alert()
    services.resolve(first.pk, "alice", "fixed")
    receiver.answer = lambda receiver, number, headers, body: (
        503 if json.loads(body)["alert"]["id"] == first.pk else 200,
        {},
    )
    second = make_alert()
    deliver_notifications()
    assert (second.pk, "alert.fired") in receiver.events()
    assert (first.pk, "alert.resolved") not in receiver.events()  # waits behind its own fired


def test_firing_then_silenced_then_resolved_delivers_resolved(receiver):
    receiver.answer = lambda *request: (200, {})
    NotificationChannel.objects.create(name="hook", kind="webhook", url=receiver.url)
    alert = make_alert(labels={"host": "db-1"})
    Silence.objects.create(
        matchers={"host": "db-1"}, ends_at=timezone.now() + timedelta(hours=1), comment="maint", created_by="bob"
    )
    services.apply_silences()
    alert.refresh_from_db()
    assert alert.silenced
    services.resolve(alert.pk, "alice", "fixed during maintenance")
    deliver_notifications()
    assert receiver.events() == [(alert.pk, "alert.fired"), (alert.pk, "alert.resolved")]


def test_a_channel_with_send_resolved_off_hears_no_resolution(receiver):
    NotificationChannel.objects.create(name="hook", kind="webhook", url=receiver.url, send_resolved=False)
    alert = make_alert()
    services.resolve(alert.pk, "alice", "fixed")
    assert list(Delivery.objects.values_list("event", flat=True)) == ["alert.fired"]


def test_a_resolution_goes_only_to_channels_that_were_paged():
    make_alert_first = make_alert()
    NotificationChannel.objects.create(name="late", kind="email", emails="oncall@example.com")
    services.resolve(make_alert_first.pk, "alice", "fixed")
    assert Delivery.objects.count() == 0  # it never heard the alert start


def test_repeat_interval_pages_again_while_firing_and_unacknowledged():
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com", repeat_interval=60)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        alert = make_alert()
        clock.shift(30)
        assert queue_repeats() == 0
        clock.shift(31)
        deliver_notifications()
        assert queue_repeats() == 1
        deliver_notifications()
        clock.shift(30)
        assert queue_repeats() == 0  # the repeat restarted the interval
        services.acknowledge(alert.pk, "alice")
        clock.shift(600)
        assert queue_repeats() == 0
    assert list(Delivery.objects.order_by("id").values_list("event", flat=True)) == [
        "alert.fired",
        "alert.repeated",
        "alert.acknowledged",
    ]


def test_no_repeats_without_a_repeat_interval():
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com")
    make_alert()
    assert queue_repeats(timezone.now() + timedelta(days=1)) == 0


def test_a_repeat_is_not_queued_while_the_last_page_is_still_unsent():
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com", repeat_interval=60)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        make_alert()  # its fired delivery is never sent here
        clock.shift(61)
        assert queue_repeats() == 0

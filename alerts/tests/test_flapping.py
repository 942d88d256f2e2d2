"""Flapping: one page for a fingerprint that keeps changing, and one when it settles (contract, section 5)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import services
from alerts.flapping import FLAPPING, SETTLED, settle_flapping
from alerts.models import Alert, AlertEvent, Delivery, EventKind, NotificationChannel
from alerts.tests.factories import make_alert
from realtime.tests.streams import sent_since, stream_mark

pytestmark = pytest.mark.django_db
FINGERPRINT = "db-1-replication-lag"


@pytest.fixture
def channel():
    return NotificationChannel.objects.create(name="pager", kind="email", emails="oncall@example.com")


def change(times):
    """Fire and resolve the fingerprint alternately, ``times`` changes in all, starting with a fire."""
    for number in range(times):
        if number % 2 == 0:
            make_alert(fingerprint=FINGERPRINT, source="db-1", title="Replication lag")
        else:
            services.resolve(Alert.objects.get(fingerprint=FINGERPRINT, status="firing").pk, "test")


def queued():
    return list(Delivery.objects.order_by("id").values_list("event", flat=True))


def latest():
    return Alert.objects.filter(fingerprint=FINGERPRINT).latest("id")


def test_thirteen_changes_in_ten_seconds_queue_one_flapping_and_at_most_six_in_all(channel):
    started = time.monotonic()
    change(13)
    assert time.monotonic() - started < 10
    assert queued().count(FLAPPING) == 1
    assert len(queued()) <= 6


def test_changes_up_to_the_limit_each_notify(channel, settings):
    change(settings.OPSCONSOLE_FLAP_CHANGES)
    assert queued() == ["alert.fired", "alert.resolved"] * (settings.OPSCONSOLE_FLAP_CHANGES // 2)
    assert not latest().flapping


def test_the_change_past_the_limit_makes_the_alert_flapping(channel, settings):
    change(settings.OPSCONSOLE_FLAP_CHANGES + 1)
    assert latest().flapping
    assert queued()[-1] == FLAPPING
    assert AlertEvent.objects.filter(kind=EventKind.ALERT_FLAPPING).count() == 1


def test_a_flapping_alert_shows_the_flag_in_the_api_and_on_the_socket(
    channel, staff_client, django_capture_on_commit_callbacks
):
    before = stream_mark()
    with django_capture_on_commit_callbacks(execute=True):
        change(5)
    assert staff_client.get(f"/api/v1/alerts/{latest().pk}/").json()["flapping"] is True
    pushed = sent_since(before)
    assert pushed[-1]["data"]["flapping"] is True


def test_acknowledging_a_flapping_alert_notifies_nobody(channel):
    change(5)
    count = len(queued())
    services.acknowledge(latest().pk, "test")
    assert len(queued()) == count


def test_a_fingerprint_still_changing_within_the_window_does_not_settle(channel):
    change(5)
    assert settle_flapping(now=timezone.now() + timedelta(seconds=10)) == 0
    assert latest().flapping


def test_a_fingerprint_that_held_its_state_a_whole_window_settles_once(channel, settings):
    change(6)  # ends resolved
    later = timezone.now() + timedelta(seconds=settings.OPSCONSOLE_FLAP_WINDOW + 1)
    assert settle_flapping(now=later) == 1
    assert settle_flapping(now=later) == 0
    assert not Alert.objects.filter(fingerprint=FINGERPRINT, flapping=True).exists()
    assert queued().count(SETTLED) == 1
    settled = Delivery.objects.get(event=SETTLED)
    assert settled.payload["alert"]["status"] == "resolved" and settled.payload["alert"]["flapping"] is False


def test_after_settling_changes_notify_again(channel, settings):
    change(6)
    settle_flapping(now=timezone.now() + timedelta(seconds=settings.OPSCONSOLE_FLAP_WINDOW + 1))
    settings.OPSCONSOLE_FLAP_WINDOW = 1  # the earlier changes are now outside the window
    time.sleep(1.1)
    count = len(queued())
    change(1)
    assert queued()[count:] == ["alert.fired"]

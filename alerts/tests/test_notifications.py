"""Notifications: routed, signed, retried with backoff, logged; silenced alerts notify nobody."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks import Webhook

from alerts import services
from alerts.models import Delivery, NotificationChannel, Silence
from alerts.notifications import deliver_notifications
from alerts.tests.factories import make_alert
from alerts.tests.receivers import Receiver

# Sends run on the sender's threads, which see only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def failing_first(count):
    return lambda receiver, number, headers, body: (503 if number <= count else 200, {})


@pytest.fixture
def receiver():
    flaky = Receiver(failing_first(2))
    yield flaky
    flaky.close()


def test_a_webhook_is_retried_with_backoff_until_it_succeeds(receiver):
    NotificationChannel.objects.create(name="hook", kind="webhook", url=receiver.url)
    alert = make_alert(title="Database down", severity="critical")
    now = timezone.now()
    assert deliver_notifications(now=now) == {"pending": 1}
    delivery = Delivery.objects.get()
    assert delivery.attempts == 1 and delivery.last_error == "HTTP 503"
    assert deliver_notifications(now=now) == {}  # not due yet: backing off
    assert deliver_notifications(now=delivery.next_attempt_at) == {"pending": 1}
    later = Delivery.objects.get().next_attempt_at
    assert later - delivery.next_attempt_at > delivery.next_attempt_at - now  # the wait grows
    assert deliver_notifications(now=later) == {"sent": 1}
    delivery = Delivery.objects.get()
    assert delivery.status == "sent" and delivery.attempts == 3 and delivery.response_code == 200
    payload = json.loads(receiver.requests[-1][2])
    assert payload["event"] == "alert.fired" and payload["alert"]["id"] == alert.pk


def test_the_signature_verifies_with_the_standard_webhooks_library(receiver):
    receiver.answer = lambda *request: (200, {})
    channel = NotificationChannel.objects.create(name="hook", kind="webhook", url=receiver.url)
    assert channel.secret.startswith("whsec_")
    alert = make_alert(title="Database down")
    assert deliver_notifications() == {"sent": 1}
    _, headers, body = receiver.requests[0]
    payload = Webhook(channel.secret).verify(body, headers)
    assert payload["alert"]["id"] == alert.pk
    assert headers["webhook-id"] == f"opsconsole-delivery-{Delivery.objects.get().pk}"


def test_a_tampered_body_does_not_verify(receiver):
    receiver.answer = lambda *request: (200, {})
    channel = NotificationChannel.objects.create(name="hook", kind="webhook", url=receiver.url)
    make_alert()
    deliver_notifications()
    _, headers, body = receiver.requests[0]
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(channel.secret).verify(body.replace(b"warning", b"critical"), headers)


def test_channels_route_by_severity_and_category(receiver):
    NotificationChannel.objects.create(
        name="critical cpu", kind="webhook", url=receiver.url, severities=["critical"], categories=["cpu"]
    )
    make_alert(severity="warning", category="cpu")
    make_alert(severity="critical", category="disk")
    make_alert(severity="critical", category="cpu")
    assert Delivery.objects.count() == 1


def test_acknowledge_and_resolve_notify_but_repeats_do_not():
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com, lead@example.com")
    alert = make_alert(source="s", labels={"a": "1"})
    make_alert(source="s", labels={"a": "1"})  # the same alert again: an update, not news
    services.acknowledge(alert.pk, "alice")
    services.resolve(alert.pk, "alice", "fixed")
    assert list(Delivery.objects.order_by("id").values_list("event", flat=True)) == [
        "alert.fired",
        "alert.acknowledged",
        "alert.resolved",
    ]
    deliver_notifications()
    assert len(mail.outbox) == 3
    assert mail.outbox[0].to == ["oncall@example.com", "lead@example.com"]
    subjects = [message.subject.split(":")[0] for message in mail.outbox]
    assert subjects == ["[warning] FIRING", "[warning] ACKNOWLEDGED", "[warning] RESOLVED"]


def test_a_silenced_alert_is_stored_but_notifies_nobody():
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com")
    Silence.objects.create(
        matchers={"host": "web-9"}, ends_at=timezone.now() + timedelta(hours=1), comment="maint", created_by="alice"
    )
    alert = make_alert(labels={"host": "web-9"})
    assert alert.silenced and Delivery.objects.count() == 0


def test_a_client_error_is_not_retried(receiver):
    channel = NotificationChannel.objects.create(name="bad", kind="webhook", url=receiver.url + "/nowhere")
    receiver.answer = lambda *request: (404, {})
    make_alert()
    assert deliver_notifications() == {"failed": 1}
    assert Delivery.objects.get(channel=channel).last_error == "HTTP 404"


def test_two_passes_never_send_the_same_delivery(receiver):
    receiver.answer = lambda *request: (200, {})
    NotificationChannel.objects.create(name="hook", kind="webhook", url=receiver.url)
    make_alert()
    first, second = deliver_notifications(), deliver_notifications()
    assert first == {"sent": 1} and second == {}
    assert len(receiver.requests) == 1


@pytest.mark.django_db  # nothing is sent; the pushes are captured at commit
def test_when_a_silence_ends_its_firing_alerts_are_pushed_and_notified(django_capture_on_commit_callbacks):
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com")
    silence = Silence.objects.create(
        matchers={"host": "web-9"}, ends_at=timezone.now() + timedelta(minutes=5), comment="maint", created_by="alice"
    )
    alert = make_alert(labels={"host": "web-9"})
    assert alert.silenced and Delivery.objects.count() == 0
    with django_capture_on_commit_callbacks() as pushes:
        assert services.apply_silences(now=silence.ends_at + timedelta(seconds=1)) == {"silenced": 0, "unsilenced": 1}
    alert.refresh_from_db()
    assert alert.silenced is False and len(pushes) == 1
    assert list(Delivery.objects.values_list("event", flat=True)) == ["alert.unsilenced"]


@pytest.mark.django_db  # nothing is sent; the pushes are captured at commit
def test_a_new_silence_quiets_alerts_already_firing(django_capture_on_commit_callbacks):
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com")
    alert = make_alert(labels={"host": "web-5"})
    Silence.objects.create(
        matchers={"host": "web-5"}, ends_at=timezone.now() + timedelta(hours=1), comment="deploy", created_by="bob"
    )
    with django_capture_on_commit_callbacks() as pushes:
        assert services.apply_silences() == {"silenced": 1, "unsilenced": 0}
    alert.refresh_from_db()
    assert alert.silenced is True
    assert len(pushes) == 1  # pages learn to quiet it
    assert list(Delivery.objects.values_list("event", flat=True)) == ["alert.fired"]  # nothing new notified

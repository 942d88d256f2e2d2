"""Apprise channels: one URL for Slack, Teams, Telegram, ntfy…; here Apprise's json:// to a local receiver."""

import json

import pytest
from django.core.exceptions import ValidationError

from alerts import services
from alerts.models import Delivery, NotificationChannel
from alerts.notifications import deliver_notifications
from alerts.tests.factories import make_alert
from alerts.tests.receivers import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def apprise_url(receiver):
    return f"json://127.0.0.1:{receiver.server.server_port}/chat"


def test_an_apprise_channel_delivers_a_chat_message_to_a_local_receiver(receiver):
    NotificationChannel.objects.create(name="chat", kind="apprise", url=apprise_url(receiver))
    alert = make_alert(title="Disk 95% on db-1", severity="critical", labels={"host": "db-1"}, value=95, threshold=90)
    assert deliver_notifications() == {"sent": 1}
    path, _, body = receiver.requests[0]
    message = json.loads(body)
    assert path == "/chat" and message["type"] == "failure"
    assert message["title"] == "[critical] FIRING: Disk 95% on db-1"
    assert "Value: 95 (threshold 90)" in message["message"] and "Labels: host=db-1" in message["message"]
    assert f"/alerts/{alert.pk}/" in message["message"]


def test_a_resolution_reads_as_a_success(receiver):
    NotificationChannel.objects.create(name="chat", kind="apprise", url=apprise_url(receiver))
    alert = make_alert()
    services.resolve(alert.pk, "alice", "disk cleaned")
    deliver_notifications()
    resolved = json.loads(receiver.requests[-1][2])
    assert resolved["type"] == "success" and resolved["title"].startswith("[warning] RESOLVED:")
    assert "Resolution: disk cleaned" in resolved["message"]


def test_a_receiver_that_fails_leaves_the_delivery_to_be_retried(receiver):
    receiver.answer = lambda *request: (500, {})
    NotificationChannel.objects.create(name="chat", kind="apprise", url=apprise_url(receiver))
    make_alert()
    assert deliver_notifications() == {"pending": 1}
    assert Delivery.objects.get().last_error == "The Apprise service did not take the message (see the worker log)."


def test_an_url_apprise_does_not_know_is_refused_at_save():
    with pytest.raises(ValidationError) as refused:
        NotificationChannel(name="chat", kind="apprise", url="nosuchservice://token").full_clean()
    assert "Apprise does not understand" in str(refused.value.message_dict["url"])

"""Flapping and settled notifications read well in every channel kind."""

import json

import pytest
from django.core import mail

from alerts import services
from alerts.models import Alert, NotificationChannel
from alerts.notifications import deliver_notifications, queue_for
from alerts.notifications.render import one_line
from alerts.payloads import alert_data
from alerts.tests.factories import make_alert
from alerts.tests.receivers import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receivers():
    hook, chat = Receiver(), Receiver()
    yield hook, chat
    hook.close()
    chat.close()


def test_flapping_and_settled_read_well_in_webhook_email_and_chat(receivers):
    hook, chat = receivers
    NotificationChannel.objects.create(name="hook", kind="webhook", url=hook.url)
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com")
    NotificationChannel.objects.create(name="chat", kind="apprise", url=f"json://127.0.0.1:{chat.server.server_port}/")
    alert = make_alert(title="Link eth0 up/down", severity="critical")
    queue_for(alert_data(alert), "flapping")
    services.resolve(alert.pk, "rule:link", "")
    queue_for(alert_data(Alert.objects.get(pk=alert.pk)), "settled")
    deliver_notifications()
    assert [event for _, event in hook.events()] == ["alert.fired", "flapping", "alert.resolved", "settled"]
    assert [m.subject for m in mail.outbox][1:] == [
        "[critical] FLAPPING: Link eth0 up/down",
        "[critical] RESOLVED: Link eth0 up/down",
        "[critical] SETTLED (resolved): Link eth0 up/down",
    ]
    assert "changed state too often" in mail.outbox[1].body
    chat_messages = [json.loads(body) for _, _, body in chat.requests]
    assert [(m["type"], m["title"].split(":")[0]) for m in chat_messages] == [
        ("failure", "[critical] FIRING"),
        ("failure", "[critical] FLAPPING"),
        ("success", "[critical] RESOLVED"),
        ("success", "[critical] SETTLED (resolved)"),
    ]


def test_one_line_folds_newlines_and_drops_control_characters():
    assert one_line("a\r\nb\tc\x00d\x1b[31m") == "a b c d [31m"
    assert len(one_line("x" * 500)) == 200

"""Notifications carry the alert's runbook links: webhook JSON, e-mail text and chat message."""

import json

import pytest
from django.core import mail

from alerts.models import NotificationChannel
from alerts.notifications import deliver_notifications
from alerts.tests.factories import make_alert
from alerts.tests.receivers import Receiver
from runbooks.tests.factories import make_runbook

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receivers(loopback_receivers_allowed):
    hook, chat = Receiver(), Receiver()
    yield hook, chat
    hook.close()
    chat.close()


def test_every_channel_kind_carries_the_runbook_links_as_absolute_urls(receivers, settings):
    settings.OPSCONSOLE_PUBLIC_URL = "https://ops.example.com"
    hook, chat = receivers
    NotificationChannel.objects.create(name="hook", kind="webhook", url=hook.url)
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com")
    NotificationChannel.objects.create(name="chat", kind="apprise", url=f"json://127.0.0.1:{chat.server.server_port}/")
    runbook = make_runbook(title="Disk full on a database", matchers={"role": "db"})
    make_alert(title="db-1 disk at 97%", labels={"role": "db", "runbook_url": "https://wiki.example.com/disk"})
    deliver_notifications()
    page = f"https://ops.example.com/runbooks/{runbook.pk}/"
    webhook_alert = json.loads(hook.requests[0][2])["alert"]
    assert webhook_alert["runbooks"] == [
        {"id": runbook.pk, "title": "Disk full on a database", "url": page},
        {"id": None, "title": "Runbook", "url": "https://wiki.example.com/disk"},
    ]
    lines = [f"Runbook: Disk full on a database {page}", "Runbook: Runbook https://wiki.example.com/disk"]
    assert all(line in mail.outbox[0].body for line in lines)
    chat_body = json.loads(chat.requests[0][2])["message"]
    assert all(line in chat_body for line in lines)


def test_an_alert_without_runbooks_gets_no_runbook_lines(receivers):
    hook, _ = receivers
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com")
    make_runbook(title="Other", matchers={"role": "web"})
    make_alert(title="db-1 disk", labels={"role": "db"})
    deliver_notifications()
    assert "Runbook:" not in mail.outbox[0].body

"""Channels in the admin: the secret shown once, targets checked, a test notification queued."""

import pytest

from alerts.models import Delivery, NotificationChannel

pytestmark = pytest.mark.django_db

CHANNELS = "/admin/alerts/notificationchannel/"


def form(**fields):
    values = {"name": "ops", "kind": "webhook", "url": "https://hooks.example.com/x", "emails": ""}
    values |= {"severities": "[]", "categories": "[]", "send_resolved": "on", "enabled": "on", "repeat_interval": ""}
    return values | fields


def test_adding_a_webhook_shows_its_secret_once(admin_client):
    page = admin_client.post(f"{CHANNELS}add/", form(), follow=True).content.decode()
    channel = NotificationChannel.objects.get()
    assert channel.secret in page
    assert channel.secret not in admin_client.get(f"{CHANNELS}{channel.pk}/change/").content.decode()


def test_the_admin_refuses_a_metadata_address(admin_client, settings):
    from ipaddress import ip_network

    settings.OPSCONSOLE_WEBHOOK_DENY_NETWORKS = [ip_network("169.254.0.0/16")]
    page = admin_client.post(f"{CHANNELS}add/", form(url="http://169.254.169.254/latest/")).content.decode()
    assert "OPSCONSOLE_WEBHOOK_DENY_NETWORKS" in page and not NotificationChannel.objects.exists()


def test_send_test_notification_queues_one_per_channel(admin_client):
    channel = NotificationChannel.objects.create(name="mail", kind="email", emails="a@example.com")
    page = admin_client.post(
        CHANNELS, {"action": "send_test_notification", "_selected_action": [channel.pk]}, follow=True
    ).content.decode()
    assert "Test queued for 1 channel(s)" in page
    assert list(Delivery.objects.values_list("channel_id", "event")) == [(channel.pk, "test")]

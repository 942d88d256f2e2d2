"""Channels and deliveries over REST: staff manage them, the secret is shown once, tests are queued."""

import pytest
from standardwebhooks import Webhook

from alerts.models import Delivery, NotificationChannel
from alerts.notifications import deliver_notifications
from alerts.tests.factories import make_alert
from alerts.tests.receivers import Receiver

URL = "/api/v1/channels/"


@pytest.mark.django_db
def test_creating_a_webhook_returns_its_secret_once(staff_client):
    created = staff_client.post(
        URL, {"name": "ops", "kind": "webhook", "url": "https://hooks.example.com/x"}, "application/json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["send_resolved"] is True and body["repeat_interval"] is None
    assert body["secret"] == NotificationChannel.objects.get().secret
    again = staff_client.get(f"{URL}{body['id']}/").json()
    assert "secret" not in again and again["url"] == "https://hooks.example.com/x"
    assert "secret" not in staff_client.get(URL).json()["results"][0]


@pytest.mark.django_db
def test_a_url_on_loopback_is_refused_with_a_clear_400(staff_client, settings):
    from ipaddress import ip_network

    settings.OPSCONSOLE_WEBHOOK_DENY_NETWORKS = [ip_network("127.0.0.0/8"), ip_network("169.254.0.0/16")]
    for url in ("http://127.0.0.1:9000/", "http://169.254.169.254/latest/"):
        answer = staff_client.post(URL, {"name": "x", "kind": "webhook", "url": url}, "application/json")
        assert answer.status_code == 400 and "OPSCONSOLE_WEBHOOK_DENY_NETWORKS" in answer.json()["url"][0]
    assert not NotificationChannel.objects.exists()


@pytest.mark.django_db
def test_patch_checks_the_channel_as_it_would_become(staff_client):
    channel = NotificationChannel.objects.create(name="mail", kind="email", emails="a@example.com")
    answer = staff_client.patch(f"{URL}{channel.pk}/", {"kind": "webhook"}, "application/json")
    assert answer.status_code == 400 and answer.json() == {"url": ["A webhook needs a URL."]}
    answer = staff_client.patch(
        f"{URL}{channel.pk}/", {"repeat_interval": 3600, "severities": ["critical"]}, "application/json"
    )
    assert answer.status_code == 200 and answer.json()["repeat_interval"] == 3600


@pytest.mark.django_db
def test_a_repeat_interval_under_a_minute_is_refused(staff_client):
    answer = staff_client.post(
        URL, {"name": "m", "kind": "email", "emails": "a@example.com", "repeat_interval": 5}, "application/json"
    )
    assert answer.status_code == 400 and "repeat_interval" in answer.json()


@pytest.mark.django_db
def test_a_plain_account_may_not_see_channels(client, plain_user):
    client.force_login(plain_user)
    assert client.get(URL).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_test_action_queues_a_signed_test_that_arrives(staff_client):
    receiver = Receiver()
    try:
        channel = NotificationChannel.objects.create(name="hook", kind="webhook", url=receiver.url)
        answer = staff_client.post(f"{URL}{channel.pk}/test/", {}, content_type="application/json")
        assert answer.status_code == 202 and answer.json()["event"] == "test"
        assert deliver_notifications() == {"sent": 1}
        _, headers, body = receiver.requests[0]
        assert Webhook(channel.secret).verify(body, headers)["event"] == "test"
    finally:
        receiver.close()


@pytest.mark.django_db
def test_deliveries_filter_by_alert_and_channel(staff_client):
    first = NotificationChannel.objects.create(name="a", kind="email", emails="a@example.com")
    NotificationChannel.objects.create(name="b", kind="email", emails="b@example.com")
    alert, other = make_alert(), make_alert()
    answer = staff_client.get("/api/v1/deliveries/", {"alert": alert.pk, "channel": first.pk}).json()
    assert [(d["alert"], d["channel"], d["event"]) for d in answer["results"]] == [(alert.pk, first.pk, "alert.fired")]
    assert Delivery.objects.filter(alert_id=other.pk).count() == 2

"""The on-call pages' server side: the alert page, the silences page and their endpoints (contract, section 9)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts import services
from alerts.models import AlertRule, ConfigChange, Silence
from alerts.rules import evaluate_rules
from alerts.series import alert_series
from alerts.tests.factories import make_alert, make_incident
from metrics.points import Point, tags_key
from metrics.services import ingest_points

pytestmark = pytest.mark.django_db


def points(name, tags, value=1.0):
    ingest_points([Point(name=name, tags_key=tags_key(tags), tags=tags, ts=timezone.now(), value=value)])


def test_the_alert_page_shows_the_alert_its_timeline_and_its_incident(staff_client):
    alert = make_alert(title="Disk <b>full</b>", labels={"host": "db-1"})
    services.acknowledge(alert.pk, "alice", "on it, restarting the vacuum")
    incident = make_incident(title="Storage", alert_ids=[alert.pk])
    page = staff_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "Disk &lt;b&gt;full&lt;/b&gt;" in page and "<b>full</b>" not in page.split("alert-state")[0]
    assert f'href="/incidents/{incident.pk}/"' in page
    assert "on it, restarting the vacuum" in page  # the timeline, in the page's state
    assert 'href="/silences/?match=host%3Ddb-1"' in page


def test_the_alert_page_is_for_staff_and_says_404_for_a_missing_alert(staff_client, plain_user):
    alert = make_alert()
    assert staff_client.get("/alerts/999999/").status_code == 404
    assert Client().get(f"/alerts/{alert.pk}/")["Location"].startswith("/login/")
    other = Client()
    other.force_login(plain_user)
    assert other.get(f"/alerts/{alert.pk}/").status_code == 403


def test_a_rule_alert_charts_the_series_it_fired_on():
    points("disk_used_percent", {"host": "db-1", "mount": "/"}, 95)
    points("disk_used_percent", {"host": "db-2", "mount": "/"}, 40)
    AlertRule.objects.create(name="Disk", metric="disk_used_percent", operator=">", threshold=90, title="{host}")
    evaluate_rules()
    alert = AlertRule.objects.get().alerts.get()
    assert alert_series(alert) == [{"name": "disk_used_percent", "tags": {"host": "db-1", "mount": "/"}}]


def test_any_other_alert_charts_the_series_whose_tags_its_labels_contain():
    points("load1", {"host": "web-1"})
    points("load1", {"host": "web-10"})  # a prefix of the label's value is not it
    points("cpu_percent", {"host": "web-1", "core": "0"})  # a tag the alert lacks
    points("queue_depth", {})  # no tags: says nothing about any alert
    alert = make_alert(labels={"alertname": "HighLoad", "host": "web-1"})
    assert alert_series(alert) == [{"name": "load1", "tags": {"host": "web-1"}}]
    assert alert_series(make_alert(labels={})) == []


def test_notifications_link_to_the_alert_page(settings):
    from alerts.notifications.render import alert_link

    settings.OPSCONSOLE_PUBLIC_URL = "https://ops.example.com"
    assert alert_link(17) == "https://ops.example.com/alerts/17/"


def test_the_silences_page_lists_active_upcoming_and_recently_ended_silences(staff_client):
    now = timezone.now()
    Silence.objects.create(matchers={"host": "a"}, ends_at=now + timedelta(hours=1), comment="active one")
    Silence.objects.create(
        matchers={"host": "b"}, starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2), comment="later"
    )
    Silence.objects.create(
        matchers={"host": "c"}, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1), comment="ended"
    )
    Silence.objects.create(
        matchers={"host": "d"}, starts_at=now - timedelta(days=30), ends_at=now - timedelta(days=20), comment="old"
    )
    page = staff_client.get("/silences/").content.decode()
    assert "active one" in page and "later" in page and "ended" in page
    assert "old" not in page.split('id="silences-state"')[1]


def test_the_preview_lists_the_unresolved_alerts_the_matchers_catch(staff_client):
    caught = make_alert(labels={"team": "payments", "host": "p-1"})
    make_alert(labels={"team": "payments-eu", "host": "p-2"})
    resolved = make_alert(labels={"team": "payments"})
    services.resolve(resolved.pk, "test")
    answer = staff_client.post("/api/v1/silences/preview/", {"matchers": {"team": "payments"}}, "application/json")
    assert answer.status_code == 200
    assert answer.json()["count"] == 1 and [alert["id"] for alert in answer.json()["alerts"]] == [caught.pk]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"matchers": {}}, "matchers"),
        ({}, "matchers"),
        ({"matchers": {"a": 1}}, "matchers"),
        ({"matchers": {"a": "b"}, "x": 1}, "x"),
    ],
)
def test_a_bad_preview_is_a_clear_400(staff_client, body, field):
    answer = staff_client.post("/api/v1/silences/preview/", body, "application/json")
    assert answer.status_code == 400 and field in answer.json()


def test_expiring_a_silence_ends_it_now_audited_and_unsilences_its_alerts(staff_client):
    alert = make_alert(labels={"host": "maint-1"})
    silence = Silence.objects.create(
        matchers={"host": "maint-1"}, ends_at=timezone.now() + timedelta(hours=4), comment="x"
    )
    services.apply_silences()
    alert.refresh_from_db()
    assert alert.silenced
    answer = staff_client.post(f"/api/v1/silences/{silence.pk}/expire/", content_type="application/json")
    assert answer.status_code == 200
    silence.refresh_from_db()
    assert silence.ends_at <= timezone.now() and not silence.is_active(timezone.now())
    assert ConfigChange.objects.filter(
        object_type="alerts.silence", object_id=str(silence.pk), action="changed"
    ).exists()
    services.apply_silences()
    alert.refresh_from_db()
    assert not alert.silenced
    again = staff_client.post(f"/api/v1/silences/{silence.pk}/expire/", content_type="application/json")
    assert again.status_code == 409 and "ended" in again.json()["detail"]
    assert staff_client.post("/api/v1/silences/999999/expire/", content_type="application/json").status_code == 404


def test_expiring_an_upcoming_silence_means_it_never_starts(staff_client):
    later = timezone.now() + timedelta(days=1)
    silence = Silence.objects.create(
        matchers={"a": "b"}, starts_at=later, ends_at=later + timedelta(hours=1), comment="x"
    )
    assert (
        staff_client.post(f"/api/v1/silences/{silence.pk}/expire/", content_type="application/json").status_code == 200
    )
    silence.refresh_from_db()
    assert silence.starts_at == silence.ends_at <= timezone.now()


def test_favicon_ico_is_the_consoles_icon(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 302 and answer["Location"].endswith("favicon.svg")

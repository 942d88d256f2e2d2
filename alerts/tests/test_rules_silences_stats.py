"""Rules and silences over REST, silencing, and the overview counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.tests.factories import make_alert, make_incident
from metrics.points import Point
from metrics.services import ingest_points

pytestmark = pytest.mark.django_db

RULE = {
    "name": "High CPU",
    "metric": "cpu_percent",
    "tags": {"host": "web-1"},
    "operator": ">",
    "threshold": 90,
    "for_seconds": 60,
    "severity": "critical",
    "category": "cpu",
    "title": "CPU on {host} at {value}",
}


def test_rules_can_be_created_edited_and_deleted(staff_client):
    created = staff_client.post("/api/v1/rules/", RULE, content_type="application/json")
    assert created.status_code == 201
    rule_id = created.json()["id"]
    edited = staff_client.patch(f"/api/v1/rules/{rule_id}/", {"enabled": False}, content_type="application/json")
    assert edited.json()["enabled"] is False
    assert staff_client.delete(f"/api/v1/rules/{rule_id}/").status_code == 204


def test_a_rule_with_a_bad_operator_or_threshold_is_refused(staff_client):
    response = staff_client.post(
        "/api/v1/rules/", {**RULE, "operator": "~", "threshold": "high"}, content_type="application/json"
    )
    assert response.status_code == 400 and {"operator", "threshold"} <= set(response.json())


def test_a_silence_needs_matchers_and_an_end_after_its_start(staff_client):
    now = timezone.now()
    response = staff_client.post(
        "/api/v1/silences/",
        {
            "matchers": {},
            "starts_at": now.isoformat(),
            "ends_at": (now - timedelta(hours=1)).isoformat(),
            "comment": "x",
        },
        content_type="application/json",
    )
    assert response.status_code == 400 and "matchers" in response.json()


def test_a_silenced_alert_is_stored_but_not_pushed_as_firing(
    staff_client, staff_user, django_capture_on_commit_callbacks
):
    now = timezone.now()
    created = staff_client.post(
        "/api/v1/silences/",
        {
            "matchers": {"host": "web-7"},
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "comment": "maintenance",
        },
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["created_by"] == staff_user.username
    with django_capture_on_commit_callbacks() as callbacks:
        alert = make_alert(labels={"host": "web-7", "dc": "eu"})
    assert alert.silenced is True
    assert callbacks == []
    assert staff_client.delete(f"/api/v1/silences/{created.json()['id']}/").status_code == 204


def test_stats_count_alerts_incidents_series_and_points(staff_client):
    make_alert(severity="critical")
    acknowledged = make_alert(severity="info")
    staff_client.post(f"/api/v1/alerts/{acknowledged.pk}/acknowledge/", content_type="application/json")
    make_incident()
    ingest_points([Point("cpu_percent", "host=a", {"host": "a"}, timezone.now(), 1.0) for _ in range(3)])
    body = staff_client.get("/api/v1/stats/").json()
    assert body["alerts"]["by_status"] == {"firing": 1, "acknowledged": 1, "resolved": 0}
    assert body["alerts"]["by_severity"]["critical"] == 1
    assert body["open_incidents"] == 1
    assert body["series"] == 1 and body["points_ingested"] == 3
    assert body["connected_sockets"] >= 0


def test_the_alert_summary_is_one_query_and_is_published(django_assert_num_queries):
    from alerts import services
    from realtime.replay import stream_position
    from realtime.tests.streams import published_count

    make_alert(severity="critical")
    services.resolve(make_alert(severity="critical").pk, "test")
    services.acknowledge(make_alert(severity="info").pk, "test")
    stream_position("alerts")  # the stream's cursor row exists: reading the position is then one query
    before = published_count("alerts", "alert_summary")
    with django_assert_num_queries(2):  # the stream position, then the counts
        summary = services.broadcast_alert_summary()
    assert summary == {
        "by_status": {"firing": 1, "acknowledged": 1, "resolved": 1},
        "by_severity": {"info": 1, "warning": 0, "critical": 1},
    }
    assert published_count("alerts", "alert_summary") == before + 1


def test_the_summary_job_is_scheduled():
    from alerts.services import broadcast_alert_summary
    from realtime.schedule import job_named

    assert job_named("broadcast-alert-summary").function is broadcast_alert_summary

"""Component status: reports, missed reports and their one alert, and the API that takes them."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import Alert, AlertStatus
from components.models import Component, ComponentEvent
from components.services import alert_fingerprint, check_missed_reports, report_status
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db


def heartbeat_alerts(name):
    return Alert.objects.filter(fingerprint=alert_fingerprint(name))


def test_a_silent_component_raises_one_alert_within_30_seconds_and_its_next_report_resolves_it():
    with time_machine.travel(timezone.now(), tick=False) as clock:
        report_status("cache", "running", expect_every=5)
        for _ in range(6):  # the check runs every 5 s: 30 s of silence
            clock.shift(timedelta(seconds=5))
            check_missed_reports()
        alerts = list(heartbeat_alerts("cache"))
        assert len(alerts) == 1, "one alert however often the check runs"
        assert alerts[0].source == "heartbeat" and alerts[0].category == "component"
        assert alerts[0].status == AlertStatus.FIRING
        assert Component.objects.get(name="cache").missed

        clock.shift(timedelta(seconds=5))
        report_status("cache", "running", expect_every=5)

    alerts[0].refresh_from_db()
    assert alerts[0].status == AlertStatus.RESOLVED
    assert not Component.objects.get(name="cache").missed


def test_a_report_within_expect_every_and_grace_is_not_missed():
    with time_machine.travel(timezone.now(), tick=False) as clock:
        report_status("cache", "running", expect_every=5, grace=3)
        clock.shift(timedelta(seconds=8))
        assert check_missed_reports() == []
        clock.shift(timedelta(seconds=1))
        assert check_missed_reports() == ["cache"]


def test_a_component_that_said_it_stopped_is_not_expected_again():
    with time_machine.travel(timezone.now(), tick=False) as clock:
        report_status("web-a-1", "stopped", expect_every=5)
        clock.shift(timedelta(hours=1))
        assert check_missed_reports() == []
    assert not heartbeat_alerts("web-a-1").exists()


def test_history_records_changes_not_every_report():
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for status in ("running", "running", "degraded", "degraded", "running"):
            clock.shift(timedelta(seconds=1))
            report_status("queue", status, expect_every=60)
        clock.shift(timedelta(minutes=5))
        check_missed_reports()
        report_status("queue", "running", expect_every=60)
    history = list(ComponentEvent.objects.filter(component="queue").values_list("status", "missed"))
    assert history == [
        ("running", False),
        ("degraded", False),
        ("running", False),
        ("running", True),
        ("running", False),
    ]


def test_a_missed_worker_says_when_beat_is_missing_too():
    with time_machine.travel(timezone.now(), tick=False) as clock:
        report_status("beat", "running", expect_every=10, grace=20)
        report_status("worker", "running", expect_every=10, grace=20)
        clock.shift(timedelta(seconds=31))
        check_missed_reports()
    assert "sent through beat" in heartbeat_alerts("worker").get().message
    assert "sent through" not in heartbeat_alerts("beat").get().message


def agent_client(*codenames):
    user = make_user(staff=False)
    for codename in codenames:
        app_label, name = codename.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=name))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(user)[1]}")
    return client


def test_an_agent_token_reports_and_lists_components():
    client = agent_client("metrics.add_series", "components.view_component")
    answer = client.post(
        "/api/v1/components/qbittorrent_client/status/",
        {"status": "connected", "details": {"host": "localhost", "port": 8080}, "expect_every": 60, "grace": 15},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["component"] == "qbittorrent_client"
    assert answer.json()["missed"] is False

    listed = client.get("/api/v1/components/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(row["component"], row["status"], row["grace"]) for row in rows] == [
        ("qbittorrent_client", "connected", 15)
    ]
    one = client.get("/api/v1/components/qbittorrent_client/").json()
    assert one["details"] == {"host": "localhost", "port": 8080}


def test_reporting_needs_the_agents_permission():
    client = agent_client("components.view_component")
    answer = client.post("/api/v1/components/x/status/", {"status": "running", "expect_every": 5}, format="json")
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/components/a%20b/status/", {"status": "running", "expect_every": 5}, "name"),
        ("/api/v1/components/ok/status/", {"status": "Running!", "expect_every": 5}, "status"),
        ("/api/v1/components/ok/status/", {"status": "running", "expect_every": 0}, "expect_every"),
        ("/api/v1/components/ok/status/", {"status": "running"}, "expect_every"),
        ("/api/v1/components/ok/status/", {"status": "running", "expect_every": 5, "grace": -1}, "grace"),
        ("/api/v1/components/ok/status/", {"status": "running", "expect_every": 5, "details": []}, "details"),
        ("/api/v1/components/ok/status/", {"status": "running", "expect_every": 5, "every": 5}, "every"),
    ],
)
def test_a_bad_report_is_a_400_naming_the_field(path, body, field):
    client = agent_client("metrics.add_series")
    answer = client.post(path, body, format="json")
    assert answer.status_code == 400
    assert field in answer.json(), answer.json()
    assert not Component.objects.exists()

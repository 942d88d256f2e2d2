"""A deleted alert reaches the screens: ``alert_deleted`` on ``/ws/alerts``, live and on resume."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.event_log import changes_since
from alerts.models import Alert
from alerts.tests.factories import make_alert
from realtime.replay import replay_buffer
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def pushed_since(seq):
    return [(event["type"], event["data"]) for event in replay_buffer().since("alerts", seq)]


def test_deleting_an_alert_over_rest_pushes_alert_deleted_after_commit(
    staff_client, django_capture_on_commit_callbacks
):
    alert = make_alert(fingerprint="disk-full-db-1")
    before = replay_buffer().latest_seq("alerts")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        staff_client.delete(f"/api/v1/alerts/{alert.pk}/")
    assert pushed_since(before) == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert pushed_since(before) == [("alert_deleted", {"id": alert.pk, "fingerprint": "disk-full-db-1"})]


def test_deleting_alerts_in_the_admin_pushes_alert_deleted_for_each(client, django_capture_on_commit_callbacks):
    client.force_login(make_user(superuser=True))
    alerts = [make_alert(), make_alert()]
    before = replay_buffer().latest_seq("alerts")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/alerts/alert/",
            {"action": "delete_selected", "_selected_action": [alert.pk for alert in alerts], "post": "yes"},
        )
    assert not Alert.objects.exists()
    assert sorted(data["id"] for type_, data in pushed_since(before) if type_ == "alert_deleted") == sorted(
        alert.pk for alert in alerts
    )


def test_deleting_a_silenced_alert_still_pushes_alert_deleted(staff_client, django_capture_on_commit_callbacks):
    alert = make_alert()
    Alert.objects.filter(pk=alert.pk).update(silenced=True)
    before = replay_buffer().latest_seq("alerts")
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.delete(f"/api/v1/alerts/{alert.pk}/")
    assert [type_ for type_, _ in pushed_since(before)] == ["alert_deleted"]


def test_a_resume_from_the_event_log_tells_of_an_alert_deleted_since(staff_client):
    moment = timezone.now() - timedelta(seconds=1)
    kept, deleted = make_alert(), make_alert(fingerprint="gone")
    staff_client.delete(f"/api/v1/alerts/{deleted.pk}/")
    events = changes_since(moment)
    assert [(event["type"], event["data"]["id"]) for event in events] == [
        ("alert", kept.pk),
        ("alert_deleted", deleted.pk),
    ]
    assert events[-1]["data"] == {"id": deleted.pk, "fingerprint": "gone"}

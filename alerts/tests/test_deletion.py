"""A deleted alert reaches the screens: ``alert_deleted`` on ``/ws/alerts``, live and on resume."""

import pytest

from alerts.models import Alert
from alerts.tests.factories import make_alert
from realtime.replay import Replay, replay_since
from realtime.tests.streams import position, sent_since, stream_mark
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def pushed_since(seq):
    return [(event["type"], event["data"]) for event in sent_since(seq)]


def test_deleting_an_alert_over_rest_pushes_alert_deleted_after_commit(
    staff_client, django_capture_on_commit_callbacks
):
    alert = make_alert(fingerprint="disk-full-db-1")
    before = stream_mark()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        staff_client.delete(f"/api/v1/alerts/{alert.pk}/")
    assert pushed_since(before) == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert pushed_since(before) == [("alert_deleted", {"id": alert.pk, "fingerprint": "disk-full-db-1"})]


def test_deleting_alerts_in_the_admin_pushes_alert_deleted_for_each(client, django_capture_on_commit_callbacks):
    client.force_login(make_user(superuser=True))
    alerts = [make_alert(), make_alert()]
    before = stream_mark()
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
    before = stream_mark()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.delete(f"/api/v1/alerts/{alert.pk}/")
    assert [type_ for type_, _ in pushed_since(before)] == ["alert_deleted"]


def test_a_resume_tells_of_an_alert_deleted_since(staff_client, django_capture_on_commit_callbacks):
    since = position()
    with django_capture_on_commit_callbacks(execute=True):
        kept, deleted = make_alert(), make_alert(fingerprint="gone")
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.delete(f"/api/v1/alerts/{deleted.pk}/")
    replay = replay_since("alerts", since)
    assert isinstance(replay, Replay)
    assert [(event["type"], event["data"]["id"]) for event in replay.events] == [
        ("alert", kept.pk),
        ("alert", deleted.pk),
        ("alert_deleted", deleted.pk),
    ]
    assert replay.events[-1]["data"] == {"id": deleted.pk, "fingerprint": "gone"}

"""Acknowledging with a comment, and an alert's own timeline (contract, section 5)."""

from alerts.api.serializers import MAX_COMMENT
from alerts.incidents import open_incident
from alerts.models import Alert, AlertEvent, AlertStatus, EventKind
from alerts.tests.factories import make_alert


def acknowledge(client, alert, body):
    return client.post(f"/api/v1/alerts/{alert.pk}/acknowledge/", body, content_type="application/json")


def test_an_acknowledge_comment_is_stored_in_the_event_log(staff_client):
    alert = make_alert()
    assert acknowledge(staff_client, alert, {"comment": "looking at the disk"}).status_code == 200
    event = AlertEvent.objects.get(alert=alert, kind=EventKind.ALERT_ACKNOWLEDGED)
    assert event.text == "looking at the disk"


def test_an_acknowledge_comment_is_on_the_alert_timeline(staff_client, staff_user):
    alert = make_alert()
    acknowledge(staff_client, alert, {"comment": "looking at the disk"})
    timeline = staff_client.get(f"/api/v1/alerts/{alert.pk}/timeline/").json()
    assert [entry["kind"] for entry in timeline] == ["alert.fired", "alert.acknowledged"]
    assert timeline[-1]["text"] == "looking at the disk"
    assert timeline[-1]["actor"] == staff_user.username


def test_an_acknowledge_comment_is_on_the_incident_timeline_and_page(staff_client):
    alert = make_alert()
    incident = open_incident(title="disk", alert_ids=[alert.pk], actor="test")
    acknowledge(staff_client, alert, {"comment": "looking at the disk"})
    timeline = staff_client.get(f"/api/v1/incidents/{incident.pk}/timeline/").json()
    assert timeline[-1]["kind"] == "alert.acknowledged"
    assert timeline[-1]["text"] == "looking at the disk"
    assert "looking at the disk" in staff_client.get(f"/incidents/{incident.pk}/").content.decode()


def test_acknowledge_without_a_body_records_no_comment(staff_client):
    alert = make_alert()
    assert (
        staff_client.post(f"/api/v1/alerts/{alert.pk}/acknowledge/", content_type="application/json").status_code == 200
    )
    assert AlertEvent.objects.get(alert=alert, kind=EventKind.ALERT_ACKNOWLEDGED).text == ""


def test_a_comment_over_the_limit_is_refused_and_the_alert_stays_firing(staff_client):
    alert = make_alert()
    answer = acknowledge(staff_client, alert, {"comment": "x" * (MAX_COMMENT + 1)})
    assert answer.status_code == 400
    assert answer.json() == {"comment": [f"A comment is at most {MAX_COMMENT} characters."]}
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.FIRING
    assert not AlertEvent.objects.filter(alert=alert, kind=EventKind.ALERT_ACKNOWLEDGED).exists()


def test_the_alert_timeline_lists_its_events_oldest_first_with_their_fields(staff_client):
    alert = make_alert()
    acknowledge(staff_client, alert, {})
    staff_client.post(f"/api/v1/alerts/{alert.pk}/resolve/", {"resolution": "cleaned"}, content_type="application/json")
    make_alert()  # another alert's events stay off this timeline
    timeline = staff_client.get(f"/api/v1/alerts/{alert.pk}/timeline/").json()
    assert [entry["kind"] for entry in timeline] == ["alert.fired", "alert.acknowledged", "alert.resolved"]
    assert {"kind", "at", "actor", "text", "data"} <= set(timeline[0])
    assert [entry["at"] for entry in timeline] == sorted(entry["at"] for entry in timeline)
    assert timeline[-1]["text"] == "cleaned"


def test_the_timeline_of_a_deleted_alert_is_not_found(staff_client):
    alert = make_alert()
    staff_client.delete(f"/api/v1/alerts/{alert.pk}/")
    answer = staff_client.get(f"/api/v1/alerts/{alert.pk}/timeline/")
    assert answer.status_code == 404
    assert answer.json()["detail"]

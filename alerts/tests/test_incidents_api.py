"""Incidents: opening, attaching alerts, status, notes and the timeline."""

import pytest

from alerts.models import EventKind
from alerts.tests.factories import make_alert, make_incident
from realtime.tests.streams import sent_since, stream_mark

pytestmark = pytest.mark.django_db


def post(client, path, body=None):
    return client.post(path, body or {}, content_type="application/json")


def test_opening_an_incident_from_alerts_attaches_them(staff_client, staff_user):
    alerts = [make_alert(), make_alert()]
    response = post(
        staff_client,
        "/api/v1/incidents/",
        {
            "title": "Checkout down",
            "severity": "critical",
            "commander": staff_user.username,
            "alerts": [alert.pk for alert in alerts],
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "open" and body["commander"] == staff_user.username
    assert sorted(body["alerts"]) == sorted(alert.pk for alert in alerts)
    assert staff_client.get(f"/api/v1/alerts/{alerts[0].pk}/").json()["incident"] == body["id"]


def test_attaching_unknown_alerts_is_a_400_that_changes_nothing(staff_client):
    incident = make_incident()
    alert = make_alert()
    response = post(staff_client, f"/api/v1/incidents/{incident.pk}/alerts/", {"alerts": [alert.pk, 987654]})
    assert response.status_code == 400
    assert "987654" in response.json()["alerts"][0]
    assert staff_client.get(f"/api/v1/alerts/{alert.pk}/").json()["incident"] is None


def test_attaching_alerts_is_idempotent(staff_client):
    incident, alert = make_incident(), make_alert()
    for _ in range(2):
        assert post(staff_client, f"/api/v1/incidents/{incident.pk}/alerts/", {"alerts": [alert.pk]}).json()[
            "alerts"
        ] == [alert.pk]
    kinds = [entry["kind"] for entry in staff_client.get(f"/api/v1/incidents/{incident.pk}/timeline/").json()]
    assert kinds.count(EventKind.INCIDENT_ALERT_ATTACHED) == 1


def test_status_moves_and_resolution_time(staff_client):
    incident = make_incident()
    for status in ("investigating", "mitigated", "resolved"):
        response = staff_client.patch(
            f"/api/v1/incidents/{incident.pk}/", {"status": status}, content_type="application/json"
        )
        assert response.status_code == 200 and response.json()["status"] == status
    assert response.json()["resolved_at"] is not None


@pytest.mark.parametrize("first, then", [("investigating", "investigating"), ("resolved", "open")])
def test_illegal_incident_moves_answer_409(staff_client, first, then):
    incident = make_incident()
    staff_client.patch(f"/api/v1/incidents/{incident.pk}/", {"status": first}, content_type="application/json")
    response = staff_client.patch(
        f"/api/v1/incidents/{incident.pk}/", {"status": then}, content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["status"] == first


def test_notes_and_changes_make_a_timeline_in_order(staff_client, staff_user):
    incident = make_incident()
    alert = make_alert()
    post(staff_client, f"/api/v1/incidents/{incident.pk}/alerts/", {"alerts": [alert.pk]})
    note = post(staff_client, f"/api/v1/incidents/{incident.pk}/notes/", {"text": "Rolled back deploy 42"})
    assert note.status_code == 201 and note.json()["text"] == "Rolled back deploy 42"
    post(staff_client, f"/api/v1/alerts/{alert.pk}/acknowledge/")
    timeline = staff_client.get(f"/api/v1/incidents/{incident.pk}/timeline/").json()
    assert [entry["kind"] for entry in timeline] == [
        "incident.opened",
        "incident.alert_attached",
        "incident.note",
        "alert.acknowledged",
    ]
    assert timeline[2]["actor"] == staff_user.username
    assert set(timeline[0]) == {"id", "kind", "at", "actor", "text", "data", "alert"}


def test_an_empty_note_is_refused(staff_client):
    incident = make_incident()
    response = post(staff_client, f"/api/v1/incidents/{incident.pk}/notes/", {"text": ""})
    assert response.status_code == 400 and "text" in response.json()


def test_unknown_incident_answers_404_json(staff_client):
    assert staff_client.get("/api/v1/incidents/424242/timeline/").status_code == 404
    assert post(staff_client, "/api/v1/incidents/424242/notes/", {"text": "x"}).json()["detail"]


def test_incident_list_filters_by_status(staff_client):
    open_one, closed = make_incident(), make_incident()
    staff_client.patch(f"/api/v1/incidents/{closed.pk}/", {"status": "resolved"}, content_type="application/json")
    results = staff_client.get("/api/v1/incidents/?status=open").json()["results"]
    assert [row["id"] for row in results] == [open_one.pk]


def test_an_incident_can_be_read_by_id(staff_client):
    incident = make_incident(title="Checkout down", alert_ids=[make_alert().pk])
    body = staff_client.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert body["id"] == incident.pk and body["title"] == "Checkout down" and len(body["alerts"]) == 1


def test_editing_an_incident_records_which_fields_changed_from_what_to_what(staff_client, staff_user):
    incident = make_incident(title="Checkout")
    response = staff_client.patch(
        f"/api/v1/incidents/{incident.pk}/",
        {
            "title": "Checkout slow",
            "commander": staff_user.username,
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Checkout slow" and response.json()["commander"] == staff_user.username
    updated = [
        entry
        for entry in staff_client.get(f"/api/v1/incidents/{incident.pk}/timeline/").json()
        if entry["kind"] == EventKind.INCIDENT_UPDATED
    ]
    assert [entry["data"] for entry in updated] == [
        {
            "fields": ["commander", "title"],
            "changes": {"title": ["Checkout", "Checkout slow"], "commander": [None, staff_user.username]},
        }
    ]


def test_an_unknown_commander_is_a_400_naming_the_field(staff_client):
    response = post(staff_client, "/api/v1/incidents/", {"title": "x", "commander": "nobody-here"})
    assert response.status_code == 400 and "commander" in response.json()


def test_an_invalid_incident_body_names_each_bad_field(staff_client):
    response = post(staff_client, "/api/v1/incidents/", {"title": "", "severity": "huge", "alerts": ["one"]})
    assert response.status_code == 400
    assert {"title", "severity", "alerts"} <= set(response.json())


def test_incident_changes_are_published_after_commit(staff_client, django_capture_on_commit_callbacks):
    before = stream_mark()
    with django_capture_on_commit_callbacks(execute=True):
        incident_id = post(staff_client, "/api/v1/incidents/", {"title": "Queue backlog"}).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.patch(
            f"/api/v1/incidents/{incident_id}/", {"status": "investigating"}, content_type="application/json"
        )
    events = sent_since(before)
    assert [(event["type"], event["data"]["id"], event["data"]["status"]) for event in events] == [
        ("incident", incident_id, "open"),
        ("incident", incident_id, "investigating"),
    ]


def test_a_failed_attach_publishes_nothing(staff_client, django_capture_on_commit_callbacks):
    incident = make_incident()
    with django_capture_on_commit_callbacks() as callbacks:
        post(staff_client, f"/api/v1/incidents/{incident.pk}/alerts/", {"alerts": [987654]})
    assert callbacks == []


def test_attaching_an_alert_pushes_it_with_its_incident_and_new_version(
    staff_client, django_capture_on_commit_callbacks
):
    incident, alert = make_incident(), make_alert()
    before = stream_mark()
    with django_capture_on_commit_callbacks(execute=True):
        post(staff_client, f"/api/v1/incidents/{incident.pk}/alerts/", {"alerts": [alert.pk]})
    shown = staff_client.get(f"/api/v1/alerts/{alert.pk}/").json()
    pushed = [event["data"] for event in sent_since(before) if event["type"] == "alert"]
    assert [(data["id"], data["incident"], data["version"]) for data in pushed] == [
        (alert.pk, incident.pk, shown["version"])
    ]

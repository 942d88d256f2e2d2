"""The admin: lists, actions through the services, the timeline inline, a read-only event log."""

import pytest

from alerts import incidents, services
from alerts.models import Alert, AlertEvent, EventKind, Incident
from alerts.tests.factories import make_alert, make_incident

pytestmark = pytest.mark.django_db

ALERTS = "/admin/alerts/alert/"


def run_action(client, action, alerts):
    return client.post(ALERTS, {"action": action, "_selected_action": [alert.pk for alert in alerts]}, follow=True)


def test_the_alert_list_filters_and_searches(admin_client):
    make_alert(title="Disk full on db-1", severity="critical")
    make_alert(title="CPU high on web-2", severity="info")
    page = admin_client.get(f"{ALERTS}?severity__exact=critical&q=disk").content.decode()
    assert "Disk full on db-1" in page
    assert "CPU high on web-2" not in page


def test_the_acknowledge_action_goes_through_the_service_and_logs_it(admin_client):
    alert = make_alert()
    response = run_action(admin_client, "acknowledge_selected", [alert])
    assert "Acknowledged 1 alert(s)." in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by.startswith("user")
    assert AlertEvent.objects.filter(alert=alert, kind=EventKind.ALERT_ACKNOWLEDGED).count() == 1


def test_the_resolve_action_resolves_only_what_it_may_and_logs_each_once(admin_client):
    firing, already = make_alert(), make_alert()
    services.resolve(already.pk, "test")
    run_action(admin_client, "resolve_selected", [firing, already])
    firing.refresh_from_db()
    assert firing.status == "resolved" and firing.resolution == "Resolved from the admin."
    assert AlertEvent.objects.filter(kind=EventKind.ALERT_RESOLVED).count() == 2


def test_alerts_cannot_be_added_or_edited_by_hand_in_the_admin(admin_client):
    alert = make_alert(title="Untouchable")
    assert admin_client.get(f"{ALERTS}add/").status_code == 403
    admin_client.post(f"{ALERTS}{alert.pk}/change/", {"title": "Changed", "status": "resolved"})
    alert.refresh_from_db()
    assert alert.title == "Untouchable" and alert.status == "firing"


def test_the_incident_page_shows_its_timeline(admin_client):
    incident = make_incident(title="Checkout down")
    incidents.add_note(incident.pk, "Rolled back deploy 42", "alice")
    page = admin_client.get(f"/admin/alerts/incident/{incident.pk}/change/").content.decode()
    assert "Rolled back deploy 42" in page
    assert EventKind.INCIDENT_NOTE in page


def test_an_incident_opened_in_the_admin_is_opened_by_the_service(admin_client):
    response = admin_client.post(
        "/admin/alerts/incident/add/",
        {
            "title": "Queue backlog",
            "severity": "critical",
            "summary": "",
            "commander": "",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    incident = Incident.objects.get(title="Queue backlog")
    assert list(incident.events.values_list("kind", flat=True)) == [EventKind.INCIDENT_OPENED]


def test_the_event_log_is_read_only_in_the_admin(admin_client):
    alert = make_alert()
    event = AlertEvent.objects.get(alert=alert)
    assert admin_client.get("/admin/alerts/alertevent/").status_code == 200
    assert admin_client.get("/admin/alerts/alertevent/add/").status_code == 403
    assert admin_client.post(f"/admin/alerts/alertevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AlertEvent.objects.filter(pk=event.pk).exists()


def test_the_event_log_refuses_updates_and_deletes_in_code():
    make_alert()
    with pytest.raises(TypeError):
        AlertEvent.objects.update(text="rewritten")
    with pytest.raises(TypeError):
        AlertEvent.objects.all().delete()
    assert Alert.objects.count() == 1

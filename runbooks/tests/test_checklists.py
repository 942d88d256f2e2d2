"""An incident runs a runbook as a checklist; each tick lands on its timeline and is pushed."""

import pytest

from alerts.models import AlertEvent, EventKind
from alerts.tests.factories import make_incident
from realtime.models import StreamEvent
from runbooks.models import Checklist
from runbooks.tests.factories import make_runbook

pytestmark = pytest.mark.django_db
STEPS = "# Disk full\n\n1. Check `df -h`\n2. Rotate logs\n   - nested, not a step\n3. Tell #ops\n"


def post(client, path, body=None):
    return client.post(path, body or {}, content_type="application/json")


def run(client, incident, runbook):
    return post(client, f"/api/v1/incidents/{incident.pk}/checklists/", {"runbook": runbook.pk})


def tick(client, incident, checklist_id, number):
    return post(client, f"/api/v1/incidents/{incident.pk}/checklists/{checklist_id}/steps/{number}/tick/")


def test_running_a_runbook_copies_its_numbered_steps_and_says_so_on_the_timeline(staff_client, staff_user):
    incident, runbook = make_incident(), make_runbook(title="Disk full", body=STEPS)
    answer = run(staff_client, incident, runbook)
    assert answer.status_code == 201
    checklist = answer.json()
    assert [(s["number"], s["text"], s["ticked_at"], s["ticked_by"]) for s in checklist["steps"]] == [
        (1, "Check df -h", None, ""),
        (2, "Rotate logs", None, ""),
        (3, "Tell #ops", None, ""),
    ]
    assert (checklist["runbook"], checklist["title"], checklist["started_by"]) == (
        runbook.pk,
        "Disk full",
        staff_user.username,
    )
    event = AlertEvent.objects.filter(incident=incident).order_by("-id").first()
    assert (event.kind, event.actor, event.text) == (
        EventKind.INCIDENT_CHECKLIST_STARTED,
        staff_user.username,
        "Disk full",
    )
    assert staff_client.get(f"/api/v1/incidents/{incident.pk}/checklists/").json() == [checklist]


def test_running_the_same_runbook_twice_answers_the_running_checklist(staff_client):
    incident, runbook = make_incident(), make_runbook(body=STEPS)
    first = run(staff_client, incident, runbook).json()
    again = run(staff_client, incident, runbook)
    assert again.status_code == 200
    assert again.json() == first
    assert Checklist.objects.count() == 1


def test_a_tick_records_who_and_when_and_lands_on_the_timeline(staff_client, staff_user):
    incident, runbook = make_incident(), make_runbook(title="Disk full", body=STEPS)
    checklist = run(staff_client, incident, runbook).json()
    answer = tick(staff_client, incident, checklist["id"], 2)
    assert answer.status_code == 200
    step = answer.json()
    assert (step["number"], step["ticked_by"]) == (2, staff_user.username)
    assert step["ticked_at"] is not None
    timeline = staff_client.get(f"/api/v1/incidents/{incident.pk}/timeline/").json()
    ticked = [entry for entry in timeline if entry["kind"] == "incident.step_ticked"]
    assert [(e["actor"], e["text"], e["data"]) for e in ticked] == [
        (
            staff_user.username,
            "Disk full · 2. Rotate logs",
            {"checklist": checklist["id"], "runbook": runbook.pk, "step": 2},
        )
    ]
    assert ticked[0]["at"] == step["ticked_at"]


def test_a_step_is_ticked_once(staff_client, staff_user):
    incident = make_incident()
    checklist = run(staff_client, incident, make_runbook(body=STEPS)).json()
    tick(staff_client, incident, checklist["id"], 1)
    again = tick(staff_client, incident, checklist["id"], 1)
    assert again.status_code == 409
    assert again.json()["detail"] == f"Step 1 was already ticked by {staff_user.username}."
    assert AlertEvent.objects.filter(kind=EventKind.INCIDENT_STEP_TICKED).count() == 1


def test_a_tick_refuses_a_body_field(staff_client):
    incident = make_incident()
    checklist = run(staff_client, incident, make_runbook(body=STEPS)).json()
    answer = post(
        staff_client, f"/api/v1/incidents/{incident.pk}/checklists/{checklist['id']}/steps/1/tick/", {"by": "x"}
    )
    assert answer.status_code == 400
    assert answer.json() == {"by": ["Unknown field."]}
    assert not AlertEvent.objects.filter(kind=EventKind.INCIDENT_STEP_TICKED).exists()


def test_a_missing_step_checklist_or_incident_is_404(staff_client):
    incident, other = make_incident(), make_incident()
    checklist = run(staff_client, incident, make_runbook(body=STEPS)).json()
    assert tick(staff_client, incident, checklist["id"], 4).status_code == 404
    assert tick(staff_client, other, checklist["id"], 1).status_code == 404  # another incident's checklist
    assert tick(staff_client, incident, checklist["id"] + 1, 1).status_code == 404
    assert post(staff_client, "/api/v1/incidents/999999/checklists/", {"runbook": 1}).status_code == 404
    assert staff_client.get("/api/v1/incidents/999999/checklists/").status_code == 404


def test_a_runbook_without_steps_or_an_unknown_one_is_a_400_naming_runbook(staff_client):
    incident = make_incident()
    flat = make_runbook(body="# Notes\n\n- just bullets")
    answer = run(staff_client, incident, flat)
    assert answer.status_code == 400
    assert answer.json() == {"runbook": [f"Runbook {flat.pk} has no numbered steps at its top level."]}
    unknown = post(staff_client, f"/api/v1/incidents/{incident.pk}/checklists/", {"runbook": flat.pk + 100})
    assert (unknown.status_code, unknown.json()) == (400, {"runbook": ["No runbook with this id."]})


def test_a_resolved_incidents_checklist_is_final(staff_client):
    incident = make_incident()
    checklist = run(staff_client, incident, make_runbook(body=STEPS)).json()
    staff_client.patch(f"/api/v1/incidents/{incident.pk}/", {"status": "resolved"}, content_type="application/json")
    assert tick(staff_client, incident, checklist["id"], 1).status_code == 409
    assert run(staff_client, incident, make_runbook(body=STEPS)).status_code == 409


def test_editing_the_runbook_later_keeps_the_steps_the_incident_ran(staff_client):
    incident, runbook = make_incident(), make_runbook(body=STEPS)
    checklist = run(staff_client, incident, runbook).json()
    staff_client.patch(
        f"/api/v1/runbooks/{runbook.pk}/", {"body": "1. Something else"}, content_type="application/json"
    )
    staff_client.delete(f"/api/v1/runbooks/{runbook.pk}/")
    kept = staff_client.get(f"/api/v1/incidents/{incident.pk}/checklists/").json()
    assert [step["text"] for step in kept[0]["steps"]] == [step["text"] for step in checklist["steps"]]
    assert kept[0]["runbook"] is None


def test_a_tick_pushes_the_incident_after_commit(staff_client, django_capture_on_commit_callbacks):
    incident = make_incident()
    checklist = run(staff_client, incident, make_runbook(body=STEPS)).json()
    before = StreamEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with django_capture_on_commit_callbacks(execute=True):
        tick(staff_client, incident, checklist["id"], 3)
    events = StreamEvent.objects.filter(id__gt=before).order_by("id")
    assert [(event.topic, event.type, event.data["id"]) for event in events] == [("alerts", "incident", incident.pk)]

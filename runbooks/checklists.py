"""Running a runbook on an incident: its numbered steps as a checklist, each tick on the timeline.

Same promises as ``alerts.incidents``: one transaction with the incident's
row locked, an event log line per change, and the incident pushed on
``/ws/alerts`` after commit, so every open incident page reads the tick.
"""

from typing import Any, TypedDict

from django.db import transaction
from django.utils import timezone

from alerts.incidents import publish_incident
from alerts.models import AlertEvent, EventKind, Incident, IncidentStatus
from alerts.payloads import moment
from alerts.services import IllegalTransition
from runbooks.markdown import checklist_steps
from runbooks.models import Checklist, ChecklistStep, Runbook


class NoSteps(Exception):
    """The runbook has no numbered steps at its top level: nothing to tick."""


class StepDict(TypedDict):
    number: int
    text: str
    ticked_at: str | None
    ticked_by: str


class ChecklistDict(TypedDict):
    id: int
    runbook: int | None
    title: str
    started_by: str
    started_at: str | None
    steps: list[StepDict]


def _locked_open_incident(incident_id: int) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    if incident.status == IncidentStatus.RESOLVED:
        raise IllegalTransition("The incident is resolved; its checklists are final.", incident.status)
    return incident


def _record(kind: str, incident: Incident, actor: str, text: str, data: dict[str, Any], at: Any = None) -> None:
    AlertEvent.objects.create(kind=kind, incident=incident, actor=actor, text=text, data=data, at=at or timezone.now())


@transaction.atomic
def run_runbook(incident_id: int, runbook_id: int, actor: str) -> tuple[Checklist, bool]:
    """Start the runbook's checklist on the incident; (checklist, created).

    Idempotent: a runbook already running on the incident answers its
    checklist, unchanged. Raises Runbook.DoesNotExist, NoSteps, or
    IllegalTransition for a resolved incident.
    """
    incident = _locked_open_incident(incident_id)
    runbook = Runbook.objects.get(pk=runbook_id)
    existing = Checklist.objects.filter(incident=incident, runbook=runbook).first()
    if existing is not None:
        return existing, False
    steps = checklist_steps(runbook.body)
    if not steps:
        raise NoSteps(f"Runbook {runbook.pk} has no numbered steps at its top level.")
    # The incident's row lock serializes two starts of the same runbook; the constraint backs it.
    checklist = Checklist.objects.create(incident=incident, runbook=runbook, title=runbook.title, started_by=actor)
    ChecklistStep.objects.bulk_create(
        ChecklistStep(checklist=checklist, number=number, text=text) for number, text in enumerate(steps, start=1)
    )
    data = {"checklist": checklist.pk, "runbook": runbook.pk, "steps": len(steps)}
    _record(EventKind.INCIDENT_CHECKLIST_STARTED, incident, actor, runbook.title, data)
    publish_incident(incident)
    return checklist, True


@transaction.atomic
def tick_step(incident_id: int, checklist_id: int, number: int, actor: str) -> ChecklistStep:
    """Mark step ``number`` of the checklist done by ``actor``, now; one timeline line.

    A step is ticked once: ticking it again is IllegalTransition (who did
    it first is what the record keeps). Raises ChecklistStep.DoesNotExist
    for a step, checklist or incident that is not there.
    """
    incident = _locked_open_incident(incident_id)
    step = (
        ChecklistStep.objects.select_for_update()
        .select_related("checklist")
        .get(checklist_id=checklist_id, checklist__incident=incident, number=number)
    )
    if step.ticked_at is not None:
        raise IllegalTransition(f"Step {number} was already ticked by {step.ticked_by}.", "ticked")
    step.ticked_at = timezone.now()
    step.ticked_by = actor
    step.save(update_fields=["ticked_at", "ticked_by"])
    data = {"checklist": checklist_id, "runbook": step.checklist.runbook_id, "step": number}
    text = f"{step.checklist.title} · {number}. {step.text}"
    _record(EventKind.INCIDENT_STEP_TICKED, incident, actor, text, data, at=step.ticked_at)  # one moment, both places
    publish_incident(incident)
    return step


def step_data(step: ChecklistStep) -> StepDict:
    return {
        "number": step.number,
        "text": step.text,
        "ticked_at": moment(step.ticked_at),
        "ticked_by": step.ticked_by,
    }


def checklist_data(checklist: Checklist) -> ChecklistDict:
    """A checklist as the API and the incident page show it; prefetch ``steps`` when rendering many."""
    return {
        "id": checklist.pk,
        "runbook": checklist.runbook_id,
        "title": checklist.title,
        "started_by": checklist.started_by,
        "started_at": moment(checklist.started_at),
        "steps": [step_data(step) for step in checklist.steps.all()],
    }


def incident_checklists(incident_id: int) -> list[ChecklistDict]:
    """Every checklist of the incident, oldest first, each with its steps in order."""
    rows = Checklist.objects.filter(incident_id=incident_id).prefetch_related("steps").order_by("started_at", "id")
    return [checklist_data(checklist) for checklist in rows]

"""Every change to an incident: opening, attaching alerts, status, notes.

Same promises as ``alerts.services``: one transaction, row locks, an event
log line per change, and a push to ``/ws/alerts`` recorded in the same transaction.
"""

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from alerts.models import Alert, AlertEvent, EventKind, Incident, IncidentStatus
from alerts.payloads import incident_payloads
from alerts.services import IllegalTransition, publish_alert
from realtime.publish import record_event
from realtime.topics import ALERTS


class UnknownAlerts(Exception):
    def __init__(self, missing: Iterable[int]) -> None:
        super().__init__(f"No alerts with ids {sorted(missing)}.")
        self.missing = sorted(missing)


def publish_incident(incident: Incident) -> None:
    """Record the incident's push, one version on: every change of an incident (its alerts too) comes here.

    The version goes up first: that UPDATE locks the row, so two changes
    at once render one after the other, each seeing the other's alerts.
    """
    Incident.objects.filter(pk=incident.pk).update(version=F("version") + 1)
    payload = incident_payloads([incident.pk])[incident.pk]
    incident.version = payload["version"]
    record_event(ALERTS, "incident", payload)


def _record(
    kind: str,
    incident: Incident,
    actor: str,
    text: str = "",
    data: dict[str, Any] | None = None,
    alert: Alert | None = None,
) -> None:
    AlertEvent.objects.create(kind=kind, incident=incident, alert=alert, actor=actor, text=text, data=data or {})


@transaction.atomic
def open_incident(
    *,
    title: str,
    actor: str,
    severity: str = "warning",
    summary: str = "",
    commander: Any = None,
    alert_ids: Iterable[int] = (),
) -> Incident:
    """Open an incident, optionally with alerts attached from the start."""
    incident = Incident.objects.create(title=title, severity=severity, summary=summary, commander=commander)
    _record(EventKind.INCIDENT_OPENED, incident, actor, text=title, data={"severity": severity})
    if alert_ids:
        _attach(incident, alert_ids, actor)
    publish_incident(incident)
    return incident


def _attach(incident: Incident, alert_ids: Iterable[int], actor: str) -> None:
    alert_ids = set(alert_ids)
    alerts = list(Alert.objects.select_for_update().filter(pk__in=alert_ids).order_by("pk"))
    missing = alert_ids - {alert.pk for alert in alerts}
    if missing:
        raise UnknownAlerts(missing)
    for alert in alerts:
        if alert.incident_id == incident.pk:
            continue
        alert.incident = incident
        alert.save(update_fields=["incident", "updated_at"])
        _record(
            EventKind.INCIDENT_ALERT_ATTACHED, incident, actor, text=alert.title, data={"alert": alert.pk}, alert=alert
        )
        publish_alert(alert, EventKind.INCIDENT_ALERT_ATTACHED)  # its incident and version changed: pages must hear


@transaction.atomic
def attach_alerts(incident_id: int, alert_ids: Iterable[int], actor: str) -> Incident:
    """Attach alerts to an incident (idempotent for alerts already attached)."""
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    _attach(incident, alert_ids, actor)
    publish_incident(incident)
    return incident


@transaction.atomic
def set_incident_status(incident_id: int, status: str, actor: str) -> Incident:
    """Move an incident between open, investigating, mitigated and resolved.

    Any move is allowed except to the status it already has and out of
    ``resolved``: a resolved incident's record is final; open a new one.
    """
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    if status == incident.status:
        raise IllegalTransition(f"The incident is already {status}.", incident.status)
    if incident.status == IncidentStatus.RESOLVED:
        raise IllegalTransition("A resolved incident cannot change status; open a new incident.", incident.status)
    previous = incident.status
    incident.status = status
    incident.resolved_at = timezone.now() if status == IncidentStatus.RESOLVED else None
    incident.save()
    _record(EventKind.INCIDENT_STATUS_CHANGED, incident, actor, data={"from": previous, "to": status})
    publish_incident(incident)
    return incident


EDITABLE_FIELDS = ("title", "severity", "summary", "commander")


def _shown(value: Any) -> str | None:
    """A field's value as the timeline records it: a user by username, None as None."""
    if value is None:
        return None
    return value.get_username() if hasattr(value, "get_username") else str(value)


@transaction.atomic
def edit_incident(incident_id: int, actor: str, changes: dict[str, Any]) -> Incident:
    """Change title, severity, summary or commander; ``status`` goes through set_incident_status."""
    if "status" in changes:
        set_incident_status(incident_id, changes["status"], actor)
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    edited = {
        name: changes[name] for name in EDITABLE_FIELDS if name in changes and changes[name] != getattr(incident, name)
    }
    if edited:
        # What changed, from what to what, as the timeline shows it (a commander by username).
        changes = {name: [_shown(getattr(incident, name)), _shown(value)] for name, value in edited.items()}
        for name, value in edited.items():
            setattr(incident, name, value)
        incident.save()
        data = {"fields": sorted(edited), "changes": changes}
        _record(EventKind.INCIDENT_UPDATED, incident, actor, data=data)
        publish_incident(incident)
    return incident


@transaction.atomic
def add_note(incident_id: int, text: str, actor: str) -> AlertEvent | None:
    """Append a note to the incident's timeline; returns the event."""
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    _record(EventKind.INCIDENT_NOTE, incident, actor, text=text)
    publish_incident(incident)
    return incident.events.order_by("-at", "-id").first()


def timeline(incident_id: int) -> QuerySet[AlertEvent]:
    """The incident's events, oldest first, including those of its attached alerts."""
    return AlertEvent.objects.filter(incident_id=incident_id).order_by("at", "id")

"""Alerts and incidents as the API, the sockets, the replay and the notifications show them.

The domain's one rendering of its objects (healthchecks' ``Check.to_dict`` is
the model): services push these, serializers return them, pages paint them.
The API layer imports this module, never the reverse.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict, overload

from django.utils import timezone
from rest_framework.fields import DateTimeField

from alerts.models import Alert, Incident
from runbooks.matching import RunbookLink, runbook_links

# DRF's own rendering of a moment (the current time zone, "Z" for UTC), so an
# alert pushed on a socket reads byte for byte as the REST answer. The field
# keeps no state, so one instance serves every call and thread.
_datetime = DateTimeField()


class AlertDict(TypedDict):
    id: int
    fingerprint: str
    source: str
    category: str
    severity: str
    title: str
    message: str
    value: float | None
    threshold: float | None
    labels: dict[str, str | None]
    status: str
    silenced: bool
    flapping: bool
    starts_at: str | None
    last_seen_at: str | None
    occurrences: int
    acknowledged_at: str | None
    acknowledged_by: str
    resolved_at: str | None
    resolved_by: str
    resolution: str
    incident: int | None
    rule: int | None
    created_at: str | None
    updated_at: str | None
    runbooks: list[RunbookLink]
    version: int


class IncidentDict(TypedDict):
    id: int
    title: str
    severity: str
    status: str
    summary: str
    commander: str | None
    alerts: list[int]
    opened_at: str | None
    resolved_at: str | None
    created_at: str | None
    updated_at: str | None
    version: int


def _text(value: object) -> str:
    # The text columns are NOT NULL, so a loaded object never has None here;
    # if one did, it renders as DRF renders it, null.
    return None if value is None else str(value)  # type: ignore[return-value]


def _label(value: object) -> str | None:
    # Labels are JSON: a null value renders as DRF renders it, null.
    return None if value is None else str(value)


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)


@overload
def moment(value: datetime) -> str: ...
@overload
def moment(value: None) -> None: ...
@overload
def moment(value: datetime | None) -> str | None: ...
def moment(value: datetime | None) -> str | None:
    """A moment as the REST API renders it (DRF's DateTimeField)."""
    # DRF's DateTimeField.to_representation, without its per-call settings lookups
    # (six per alert, thousands per escalation pass): the current zone, "Z" for UTC.
    if value is None:
        return None
    if timezone.is_naive(value):
        return _datetime.to_representation(value)
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def alert_data(alert: Alert) -> AlertDict:
    """An alert as the API and the sockets show it: exactly AlertSerializer's fields, in order.

    Written out because every alert write renders an alert twice (the
    answer and the socket event) and a ModelSerializer builds its 24 fields
    from the model again on each instance, which cost more than the rest of
    the write's Python. ``test_alert_data_is_what_the_model_serializer_renders``
    holds this to DRF's own rendering of the declared fields.
    """
    return {
        "id": alert.pk,
        "fingerprint": _text(alert.fingerprint),
        "source": _text(alert.source),
        "category": _text(alert.category),
        "severity": _text(alert.severity),
        "title": _text(alert.title),
        "message": _text(alert.message),
        "value": _number(alert.value),
        "threshold": _number(alert.threshold),
        "labels": {str(key): _label(value) for key, value in alert.labels.items()},
        "status": _text(alert.status),
        "silenced": bool(alert.silenced),
        "flapping": bool(alert.flapping),
        "starts_at": moment(alert.starts_at),
        "last_seen_at": moment(alert.last_seen_at),
        "occurrences": alert.occurrences,
        "acknowledged_at": moment(alert.acknowledged_at),
        "acknowledged_by": _text(alert.acknowledged_by),
        "resolved_at": moment(alert.resolved_at),
        "resolved_by": _text(alert.resolved_by),
        "resolution": _text(alert.resolution),
        "incident": alert.incident_id,
        "rule": alert.rule_id,
        "created_at": moment(alert.created_at),
        "updated_at": moment(alert.updated_at),
        "runbooks": runbook_links(alert.labels),
        "version": alert.version,
    }


def incident_data(incident: Incident) -> IncidentDict:
    """An incident as the API and the sockets show it: exactly IncidentSerializer's fields, in order.

    Its ``alerts`` are read through ``incident.alerts.all()``, so a caller
    rendering many incidents prefetches them (and selects the commander).
    """
    return {
        "id": incident.pk,
        "title": _text(incident.title),
        "severity": _text(incident.severity),
        "status": _text(incident.status),
        "summary": _text(incident.summary),
        "commander": None if incident.commander is None else incident.commander.get_username(),
        "alerts": [alert.pk for alert in incident.alerts.all()],
        "opened_at": moment(incident.opened_at),
        "resolved_at": moment(incident.resolved_at),
        "created_at": moment(incident.created_at),
        "updated_at": moment(incident.updated_at),
        "version": incident.version,
    }


def incident_payloads(incident_ids: Iterable[int]) -> dict[int, IncidentDict]:
    """The ``incident`` event data of each incident, by id (what sockets are sent)."""
    incidents = Incident.objects.prefetch_related("alerts").select_related("commander").filter(pk__in=incident_ids)
    return {incident.pk: incident_data(incident) for incident in incidents}

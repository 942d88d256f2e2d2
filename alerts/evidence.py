"""Evidence: the charts of an incident's alerts' series over a window, frozen into its timeline.

A capture copies what the query API answers for each series (the series an
alert's page charts, ``alerts.series``) into an ``IncidentEvidence`` row, so
the incident keeps it when retention has rolled up and deleted the raw
points, or the series itself is gone.

Bounded size: at most ``MAX_SERIES`` series per capture, each downsampled in
the database to at most ``MAX_POINTS`` points, the average of each step of
``ceil(window / (MAX_POINTS - 1))`` seconds (so a step-aligned bucket at
each end still fits). The min, average, max and last of each series are of
every point in the window, not of the averages, so a spike between two
steps is kept.
"""

import math
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.db import transaction
from django.utils import timezone

from alerts.incidents import publish_incident
from alerts.models import AlertEvent, EventKind, Incident, IncidentEvidence
from alerts.payloads import moment
from alerts.series import SeriesRef, alert_series
from metrics.query import query_series

MAX_POINTS = 240
MAX_SERIES = 12
MAX_WINDOW = timedelta(days=30)
MAX_CAPTURES = 50  # per incident: the page draws every one


class NothingToCapture(Exception):
    """None of the incident's alerts is about a metric series."""


class TooManyCaptures(Exception):
    pass


class SeriesStats(TypedDict):
    min: float | None
    avg: float | None
    max: float | None
    last: float | None


class FrozenSeries(TypedDict):
    name: str
    tags: dict[str, str]
    unit: str
    step: int  # seconds each point averages
    stats: SeriesStats
    points: list[list[Any]]  # [epoch seconds, value]


class EvidenceDict(TypedDict):
    id: int
    incident: int
    captured_by: str
    captured_at: str
    start: str
    end: str
    series: list[FrozenSeries]


def window_problems(start: datetime | None, end: datetime | None) -> dict[str, str]:
    """Field → problem for a capture window; empty when it is one."""
    if start is None:
        return {"start": "Give minutes, or start and end."}
    if end is None:
        return {"end": "Give minutes, or start and end."}
    if end <= start:
        return {"end": "Must be after start."}
    if end - start > MAX_WINDOW:
        return {"end": f"The window may span at most {MAX_WINDOW.days} days."}
    return {}


def incident_series(incident_id: int) -> list[SeriesRef]:
    """The series of the incident's alerts, each once, in the order the alerts were raised, at most MAX_SERIES."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], SeriesRef] = {}
    alerts = Incident.objects.get(pk=incident_id).alerts.select_related("rule").order_by("starts_at", "id")
    for alert in alerts:
        for ref in alert_series(alert):
            found.setdefault((ref["name"], tuple(sorted(ref["tags"].items()))), ref)
            if len(found) == MAX_SERIES:
                return list(found.values())
    return list(found.values())


def _exactly(answer: list[Any], ref: SeriesRef) -> Any:
    # The query matches tags by containment: keep the series itself, not its supersets.
    return next((series for series in answer if series["tags"] == ref["tags"]), None)


def _values(ref: SeriesRef, start: datetime, end: datetime, step: int, agg: str) -> list[float]:
    found = _exactly(query_series(name=ref["name"], tags=ref["tags"], start=start, end=end, step=step, agg=agg), ref)
    return [] if found is None else [value for _, value in found["points"] if value is not None]


def _stats(ref: SeriesRef, start: datetime, end: datetime) -> SeriesStats:
    # One step as long as the window: at most two buckets (steps align to a fixed origin).
    step = math.ceil((end - start).total_seconds())
    counts, sums = _values(ref, start, end, step, "count"), _values(ref, start, end, step, "sum")
    if not sum(counts):
        return {"min": None, "avg": None, "max": None, "last": None}
    return {
        "min": min(_values(ref, start, end, step, "min")),
        "avg": sum(sums) / sum(counts),
        "max": max(_values(ref, start, end, step, "max")),
        "last": _values(ref, start, end, step, "last")[-1],
    }


def _frozen(ref: SeriesRef, start: datetime, end: datetime) -> FrozenSeries:
    step = max(1, math.ceil((end - start).total_seconds() / (MAX_POINTS - 1)))
    answer = query_series(name=ref["name"], tags=ref["tags"], start=start, end=end, step=step, agg="avg")
    found = _exactly(answer, ref)
    return {
        "name": ref["name"],
        "tags": ref["tags"],
        "unit": "" if found is None else found["unit"],
        "step": step,
        "stats": _stats(ref, start, end),
        "points": [] if found is None else found["points"][:MAX_POINTS],
    }


def capture_evidence(incident_id: int, start: datetime, end: datetime, actor: str) -> IncidentEvidence:
    """Freeze the incident's alerts' series over ``[start, end)`` into its timeline; returns the evidence.

    The series are read before the incident's row is locked (a long window
    reads for a while); then one transaction stores the evidence and its
    ``incident.evidence_captured`` timeline line and records the incident's
    push on ``/ws/alerts``. Raises Incident.DoesNotExist, NothingToCapture,
    TooManyCaptures; the window is the caller's to check (window_problems).
    """
    refs = incident_series(incident_id)
    if not refs:
        raise NothingToCapture("None of this incident's alerts has a metric series to capture.")
    series = [_frozen(ref, start, end) for ref in refs]
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.evidence.count() >= MAX_CAPTURES:
            raise TooManyCaptures(f"An incident keeps at most {MAX_CAPTURES} captures of evidence.")
        evidence = IncidentEvidence.objects.create(
            incident=incident, captured_by=actor, captured_at=timezone.now(), start=start, end=end, series=series
        )
        data = {
            "evidence": evidence.pk,
            "start": moment(start),
            "end": moment(end),
            "series": len(series),
        }
        AlertEvent.objects.create(
            kind=EventKind.INCIDENT_EVIDENCE_CAPTURED,
            incident=incident,
            actor=actor,
            at=evidence.captured_at,  # one moment, both places
            text=", ".join(series_label(item) for item in series),
            data=data,
        )
        publish_incident(incident)
    return evidence


def series_label(series: FrozenSeries | SeriesRef) -> str:
    """``name key=value …``, as the pages label a series."""
    return " ".join([series["name"], *(f"{key}={value}" for key, value in series["tags"].items())])


def evidence_data(evidence: IncidentEvidence) -> EvidenceDict:
    """A capture as the API and the incident page show it."""
    return {
        "id": evidence.pk,
        "incident": evidence.incident_id,
        "captured_by": evidence.captured_by,
        "captured_at": moment(evidence.captured_at),
        "start": moment(evidence.start),
        "end": moment(evidence.end),
        "series": evidence.series,
    }


def incident_evidence(incident_id: int) -> list[EvidenceDict]:
    """Every capture of the incident, oldest first."""
    rows = IncidentEvidence.objects.filter(incident_id=incident_id).order_by("captured_at", "id")
    return [evidence_data(evidence) for evidence in rows]

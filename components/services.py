"""Every change of a component's state: a report, a missed report, the check that finds one.

A component promises its next report within ``expect_every`` seconds; past
that plus ``grace`` the check marks it missed and raises one ``heartbeat``
alert for it, and its next report resolves that alert. The alerts go through
``alerts.services``, so notifications, silences, flapping and the alert
stream apply to them like to any other.
"""

from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.models import Severity
from alerts.services import fingerprint_for, raise_alert, resolve, unresolved_alert
from components.models import Component, ComponentEvent
from realtime.publish import record_event
from realtime.topics import STATUS

ALERT_SOURCE = "heartbeat"
ALERT_CATEGORY = "component"
ACTOR = "heartbeat"
# A component that said it stopped is not expected to report: its silence is no miss.
NOT_EXPECTED = frozenset({"stopped"})
# Whose reports arrive only through another's: beat sends the task the worker's report runs in.
REPORTS_THROUGH = {"worker": "beat"}


class StatusDict(TypedDict):
    """The ``status`` event's data and the API's component object."""

    component: str
    status: str
    details: dict[str, Any]
    last_check: str
    missed: bool
    expect_every: int
    grace: int
    due_at: str


def status_data(component: Component) -> StatusDict:
    return {
        "component": component.name,
        "status": component.status,
        "details": component.details,
        "last_check": component.last_check.isoformat(),
        "missed": component.missed,
        "expect_every": component.expect_every,
        "grace": component.grace,
        "due_at": due_at(component).isoformat(),
    }


def due_at(component: Component) -> datetime:
    """When its next report counts as missed."""
    return component.last_check + timedelta(seconds=component.expect_every + component.grace)


def alert_fingerprint(name: str) -> str:
    return fingerprint_for(ALERT_SOURCE, ALERT_CATEGORY, {"component": name})


def default_grace() -> int:
    return int(settings.OPSCONSOLE_COMPONENT_GRACE)


def report_status(
    name: str,
    status: str,
    *,
    expect_every: int,
    details: dict[str, Any] | None = None,
    grace: int | None = None,
    actor: str = ACTOR,
) -> Component:
    """Record a report from ``name``, creating the component on its first; returns it.

    In one transaction: the component's row, a history row when its status
    changed or it had missed a report, the ``status`` push (after commit),
    and the resolution of its missed-report alert if one is open.
    """
    details = details or {}
    grace = default_grace() if grace is None else grace
    now = timezone.now()
    with transaction.atomic():
        component = Component.objects.select_for_update().filter(name=name).first()
        changed = component is None or component.status != status or component.missed
        was_missed = component is not None and component.missed
        if component is None:
            component = Component(name=name, created_at=now)
        component.status = status
        component.details = details
        component.expect_every = expect_every
        component.grace = grace
        component.last_check = now
        component.missed = False
        component.save()
        if changed:
            ComponentEvent.objects.create(component=name, at=now, status=status, details=details)
        record_event(STATUS, "status", status_data(component))
        if was_missed:
            alert = unresolved_alert(alert_fingerprint(name))
            if alert is not None:
                resolve(alert.pk, actor, f"{name} reported again ({status}).")
    return component


def check_missed_reports(now: datetime | None = None) -> list[str]:
    """Mark every overdue component missed and raise its alert; returns the names newly missed.

    Idempotent and safe to run from several processes at once: each miss is
    claimed with a conditional UPDATE on the report it missed, so exactly one
    run raises the alert, and a report arriving meanwhile wins.
    """
    now = now or timezone.now()
    newly_missed = []
    candidates = Component.objects.filter(missed=False).exclude(status__in=NOT_EXPECTED)
    for component in candidates:
        if now <= due_at(component):
            continue  # a report exactly at the deadline is on time
        with transaction.atomic():
            claimed = Component.objects.filter(pk=component.pk, missed=False, last_check=component.last_check).update(
                missed=True, updated_at=now
            )
            if not claimed:
                continue  # it reported, or another run claimed it
            component.missed = True
            _record_miss(component, now)
        newly_missed.append(component.name)
    return newly_missed


def _record_miss(component: Component, now: datetime) -> None:
    late = int((now - component.last_check).total_seconds())
    message = f"No report for {late} s; one was due every {component.expect_every} s (+{component.grace} s grace)."
    through = REPORTS_THROUGH.get(component.name)
    if through is not None:
        upstream = Component.objects.filter(name=through).first()
        if upstream is None or upstream.missed or due_at(upstream) < now:
            message += f" Its reports are sent through {through}, which is missing too: check {through} first."
    ComponentEvent.objects.create(
        component=component.name, at=now, status=component.status, missed=True, details={"late_seconds": late}
    )
    raise_alert(
        source=ALERT_SOURCE,
        category=ALERT_CATEGORY,
        severity=Severity.WARNING,
        title=f"{component.name} stopped reporting",
        message=message,
        labels={"component": component.name},
        fingerprint=alert_fingerprint(component.name),
        actor=ACTOR,
    )
    record_event(STATUS, "status", status_data(component))

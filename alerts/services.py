"""Every change to an alert: raising, acknowledging, resolving, editing, deleting.

Each function runs in one transaction, locks the rows it changes, appends to
the event log, and records its socket event in the same transaction
(``realtime.publish.record_event``).
Callers (REST views, admin actions, rule evaluation, tests) never write these
models directly. Incidents live in ``alerts.incidents``.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from alerts.flapping import notification_for
from alerts.models import Alert, AlertEvent, AlertRule, AlertStatus, EventKind, Severity, Silence
from alerts.payloads import alert_data
from realtime.publish import publish, record_event
from realtime.replay import stream_position
from realtime.topics import ALERTS

SYSTEM_ACTOR = "system"

# Sent inside the change's transaction with ``alert`` and ``kind`` for every
# event recorded; the on-call app starts and cuts short escalations on it.
alert_changed = Signal()


class IllegalTransition(Exception):
    """A state change the life cycle does not allow; the API answers 409."""

    def __init__(self, message: str, current_status: str) -> None:
        super().__init__(message)
        self.current_status = current_status


def actor_name(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return SYSTEM_ACTOR
    return str(user.get_username())


def fingerprint_for(source: str, category: str, labels: Mapping[str, str] | None) -> str:
    """The identity of an alert when the sender gives none: source, category and labels."""
    canonical = json.dumps([source, category, sorted((labels or {}).items())], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_pushed(alert: Alert, last_kind: str) -> bool:
    """Whether sockets hear of ``alert`` after a change of ``last_kind``: a silenced alert stays quiet while firing."""
    return not (alert.silenced and alert.status == AlertStatus.FIRING and last_kind != EventKind.ALERT_SILENCED)


def publish_alert(alert: Alert, kind: str, **notified: Any) -> None:
    """Record ``alert``'s push to ``/ws/alerts`` in the current transaction, and queue its notifications.

    A silenced alert is stored but never pushed as firing nor notified: its
    firing and updates stay quiet, while being silenced, acknowledged or
    resolved is still news on the sockets. What a change notifies (itself,
    one ``flapping``, nothing while flapping) is ``alerts.flapping``'s call;
    it runs first, so a silenced alert's changes count towards flapping too.
    ``notified`` goes into the notification beside the alert (a comment).
    """
    notification = notification_for(alert, kind)
    if not is_pushed(alert, kind):
        return
    from alerts.notifications import queue_for

    payload = alert_data(alert)
    if notification is not None:
        queue_for(payload, notification, **notified)
    record_event(ALERTS, "alert", payload)


def _record(kind: str, alert: Alert, actor: str, text: str = "", data: dict[str, Any] | None = None) -> None:
    AlertEvent.objects.create(
        kind=kind, alert=alert, incident_id=alert.incident_id, actor=actor, text=text, data=data or {}
    )
    alert_changed.send(sender=Alert, alert=alert, kind=kind)


def _active_silences(at: datetime) -> list[dict[str, str]]:
    in_span = Silence.objects.filter(starts_at__lte=at, ends_at__gt=at).order_by()  # any order will do
    return [silence.matchers for silence in in_span if silence.is_active(at)]  # recurring: inside a window


def _silenced_by(matchers_list: list[dict[str, str]], labels: Mapping[str, str]) -> bool:
    return any(all(labels.get(key) == value for key, value in matchers.items()) for matchers in matchers_list)


def is_silenced(labels: Mapping[str, str], at: datetime | None = None) -> bool:
    """True when an active silence's matchers are all present, exactly, in ``labels``."""
    return _silenced_by(_active_silences(at or timezone.now()), labels)


def apply_silences(now: datetime | None = None) -> dict[str, int]:
    """The periodic job that keeps ``silenced`` true to the silences in force.

    A new silence quiets unresolved alerts it matches; when a silence ends (or
    is deleted) its still-firing alerts are pushed and notified as firing.
    """
    now = now or timezone.now()
    matchers_list = _active_silences(now)
    changed = {"silenced": 0, "unsilenced": 0}
    unresolved = Alert.objects.exclude(status=AlertStatus.RESOLVED).only("id", "labels", "silenced")
    for alert in unresolved:
        should = _silenced_by(matchers_list, alert.labels)
        if should == alert.silenced:
            continue
        with transaction.atomic():
            locked = Alert.objects.select_for_update().get(pk=alert.pk)
            if locked.status == AlertStatus.RESOLVED or locked.silenced == should:
                continue
            locked.silenced = should
            locked.save(update_fields=["silenced", "updated_at"])
            kind = EventKind.ALERT_SILENCED if should else EventKind.ALERT_UNSILENCED
            _record(kind, locked, SYSTEM_ACTOR)
            publish_alert(locked, kind)  # silenced: pages quiet it; unsilenced: it fires now
        changed["silenced" if should else "unsilenced"] += 1
    return changed


def raise_alert(
    *,
    source: str,
    title: str,
    category: str = "custom",
    severity: str = Severity.WARNING,
    message: str = "",
    value: float | None = None,
    threshold: float | None = None,
    labels: Mapping[str, str] | None = None,
    fingerprint: str | None = None,
    starts_at: datetime | None = None,
    rule: AlertRule | None = None,
    actor: str = SYSTEM_ACTOR,
) -> tuple[Alert, bool]:
    """Record that something is wrong; returns ``(alert, created)``.

    If an unresolved alert has the same fingerprint (given, or derived from
    source, category and labels) it is updated instead: ``occurrences`` + 1,
    ``last_seen_at`` now, the new severity, title, message and value. The
    database's partial unique index makes this hold between concurrent
    senders too: the loser of a race retries as an update.
    """
    labels = dict(labels or {})
    fingerprint = fingerprint or fingerprint_for(source, category, labels)
    fields: dict[str, Any] = {
        "source": source,
        "category": category,
        "severity": severity,
        "title": title,
        "message": message,
        "value": value,
        "threshold": threshold,
        "labels": labels,
        "rule": rule,
    }
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _raise_or_update(fingerprint, fields, starts_at, actor)
        except IntegrityError:
            continue  # another sender created it first; now it is there to update
    raise RuntimeError(f"Could not raise or update the alert with fingerprint {fingerprint}")


def _raise_or_update(
    fingerprint: str, fields: dict[str, Any], starts_at: datetime | None, actor: str
) -> tuple[Alert, bool]:
    now = timezone.now()
    unresolved = Alert.objects.select_for_update().exclude(status=AlertStatus.RESOLVED)
    try:
        # get(): the partial unique index allows one unresolved alert per
        # fingerprint, so there is no order to pick by (first() would sort).
        existing = unresolved.get(fingerprint=fingerprint)
    except Alert.DoesNotExist:
        existing = None
    if existing is not None:
        for name, value in fields.items():
            if name == "rule" and value is None:
                continue
            setattr(existing, name, value)
        existing.occurrences += 1
        existing.last_seen_at = now
        existing.save()
        _record(
            EventKind.ALERT_UPDATED,
            existing,
            actor,
            data={"occurrences": existing.occurrences, "value": existing.value},
        )
        publish_alert(existing, EventKind.ALERT_UPDATED)
        return existing, False
    alert = Alert.objects.create(
        fingerprint=fingerprint,
        starts_at=starts_at or now,
        last_seen_at=now,
        silenced=is_silenced(fields["labels"], now),
        **fields,
    )
    _record(
        EventKind.ALERT_FIRED, alert, actor, text=alert.title, data={"severity": alert.severity, "value": alert.value}
    )
    publish_alert(alert, EventKind.ALERT_FIRED)
    return alert, True


def unresolved_alert(fingerprint: str) -> Alert | None:
    """The alert with this fingerprint that is not resolved, if any (the partial unique index allows one)."""
    return Alert.objects.exclude(status=AlertStatus.RESOLVED).filter(fingerprint=fingerprint).first()


def _locked(alert_id: int) -> Alert:
    return Alert.objects.select_for_update().get(pk=alert_id)


@transaction.atomic
def acknowledge(alert_id: int, actor: str, comment: str = "") -> Alert:
    """firing → acknowledged, ``comment`` kept on the timeline. Anything else is an IllegalTransition (409)."""
    alert = _locked(alert_id)
    if alert.status != AlertStatus.FIRING:
        raise IllegalTransition(f"Only a firing alert can be acknowledged; this one is {alert.status}.", alert.status)
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = actor
    # The row is locked, so its other columns are as read: write only these.
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "updated_at"])
    _record(EventKind.ALERT_ACKNOWLEDGED, alert, actor, text=comment)
    publish_alert(alert, EventKind.ALERT_ACKNOWLEDGED, **({"comment": comment} if comment else {}))
    return alert


@transaction.atomic
def unacknowledge(alert_id: int, actor: str, reason: str) -> Alert:
    """acknowledged → firing again, ``reason`` on the timeline (an acknowledgement that expired).

    Anything but an acknowledged alert is an IllegalTransition. Who heard the
    acknowledgement hears that it fires again; on-call escalation starts over.
    """
    alert = _locked(alert_id)
    if alert.status != AlertStatus.ACKNOWLEDGED:
        raise IllegalTransition(
            f"Only an acknowledged alert can be unacknowledged; this one is {alert.status}.", alert.status
        )
    alert.status = AlertStatus.FIRING
    alert.acknowledged_at = None
    alert.acknowledged_by = ""
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "updated_at"])
    _record(EventKind.ALERT_UNACKNOWLEDGED, alert, actor, text=reason)
    publish_alert(alert, EventKind.ALERT_UNACKNOWLEDGED)
    return alert


def alert_timeline(alert_id: int) -> QuerySet[AlertEvent]:
    """The alert's events, oldest first; DoesNotExist for an alert that is gone (its log stays)."""
    Alert.objects.only("id").get(pk=alert_id)
    return AlertEvent.objects.filter(alert_id=alert_id).order_by("at", "id")


@transaction.atomic
def resolve(alert_id: int, actor: str, resolution: str = "") -> Alert:
    """firing or acknowledged → resolved; resolving twice is an IllegalTransition (409).

    The row lock makes concurrent resolves queue: exactly one succeeds and
    exactly one ``alert.resolved`` event is written.
    """
    alert = _locked(alert_id)
    if alert.status == AlertStatus.RESOLVED:
        raise IllegalTransition("This alert is already resolved.", alert.status)
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = timezone.now()
    alert.resolved_by = actor
    alert.resolution = resolution
    alert.save(update_fields=["status", "resolved_at", "resolved_by", "resolution", "updated_at"])
    _record(EventKind.ALERT_RESOLVED, alert, actor, text=resolution)
    publish_alert(alert, EventKind.ALERT_RESOLVED)
    return alert


EDITABLE_FIELDS = ("title", "message", "severity", "category", "labels", "value", "threshold")


@transaction.atomic
def edit_alert(alert_id: int, actor: str, changes: dict[str, Any]) -> Alert:
    """Change descriptive fields and, through the life-cycle rules, ``status``.

    ``changes`` may hold any of EDITABLE_FIELDS plus ``status`` and
    ``resolution``; a status move is an acknowledge or resolve, with their 409s.
    """
    alert = _locked(alert_id)
    status = changes.get("status")
    if status is not None and status != alert.status:
        if status == AlertStatus.ACKNOWLEDGED:
            alert = acknowledge(alert_id, actor)
        elif status == AlertStatus.RESOLVED:
            alert = resolve(alert_id, actor, changes.get("resolution", ""))
        else:
            raise IllegalTransition(f"An alert cannot move from {alert.status} to {status}.", alert.status)
    edited = {
        name: changes[name] for name in EDITABLE_FIELDS if name in changes and changes[name] != getattr(alert, name)
    }
    if edited:
        for name, value in edited.items():
            setattr(alert, name, value)
        alert.save()
        _record(EventKind.ALERT_EDITED, alert, actor, data={"fields": sorted(edited)})
        publish_alert(alert, EventKind.ALERT_EDITED)
    return alert


def deleted_data(alert_id: int, fingerprint: str) -> dict[str, Any]:
    """The ``data`` of an ``alert_deleted`` event: enough for a screen to drop the row."""
    return {"id": alert_id, "fingerprint": fingerprint}


@transaction.atomic
def delete_alert(alert_id: int, actor: str) -> None:
    """Delete an alert; its history stays in the event log, and every screen is told once it commits.

    ``alert_deleted`` is pushed whether or not the alert was silenced: a row
    a page shows must go, and a page that never showed it ignores the event.
    """
    alert = _locked(alert_id)
    _record(EventKind.ALERT_DELETED, alert, actor, text=alert.title, data={"fingerprint": alert.fingerprint})
    alert.delete()
    record_event(ALERTS, "alert_deleted", deleted_data(alert_id, alert.fingerprint))


def alert_summary() -> dict[str, dict[str, int]]:
    """Counts of alerts by status and by severity (unresolved only), from one aggregate query.

    One GROUP BY over (status, severity) gives at most nine rows, read from the
    (status, severity, last_seen_at) index; both counts are folded from them.
    """
    by_status = dict.fromkeys(AlertStatus.values, 0)
    by_severity = dict.fromkeys(Severity.values, 0)
    rows = Alert.objects.order_by().values_list("status", "severity").annotate(count=Count("*"))
    for status, severity, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        if status != AlertStatus.RESOLVED:
            by_severity[severity] = by_severity.get(severity, 0) + count
    return {"by_status": by_status, "by_severity": by_severity}


def broadcast_alert_summary() -> dict[str, dict[str, int]]:
    """The periodic ``alert_summary`` push (contract, section 4); returns what it pushed.

    Read-only, so safe to run from any number of schedulers at once.
    """
    at_seq = stream_position(ALERTS)  # before the counts: they reflect at least every event up to it
    summary = alert_summary()
    publish(ALERTS, "alert_summary", summary, at_seq=at_seq)
    return summary

"""Flapping: a fingerprint that keeps changing between firing and resolved pages once, not at every change.

Contract, section 5. A fingerprint that changed (fired or resolved) more than
``OPSCONSOLE_FLAP_CHANGES`` times within ``OPSCONSOLE_FLAP_WINDOW`` seconds,
as its event log shows, is *flapping*: its alert carries ``flapping: true``,
channels get one ``flapping`` notification and nothing else while it lasts.
When it has held one state for a whole window, the periodic job
``settle_flapping`` turns the flag off and notifies the current state once,
as ``settled``.

:func:`notification_for` is the one place that decides what a change
notifies; ``alerts.services.publish_alert`` asks it for every change.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from alerts.models import Alert, AlertEvent, EventKind

FLAPPING = "flapping"
SETTLED = "settled"
# The changes that count: each new firing of the fingerprint (a new alert) and each resolution.
STATE_CHANGES = (EventKind.ALERT_FIRED, EventKind.ALERT_RESOLVED)
NOTIFIED_KINDS = frozenset(
    {
        EventKind.ALERT_FIRED,
        EventKind.ALERT_UNSILENCED,
        EventKind.ALERT_ACKNOWLEDGED,
        EventKind.ALERT_UNACKNOWLEDGED,
        EventKind.ALERT_RESOLVED,
    }
)


def _window() -> timedelta:
    return timedelta(seconds=settings.OPSCONSOLE_FLAP_WINDOW)


def changes_within_window(fingerprint: str, now: datetime) -> int:
    """How many times the fingerprint fired or resolved in the window ending ``now``."""
    recent = AlertEvent.objects.filter(kind__in=STATE_CHANGES, at__gt=now - _window(), alert__fingerprint=fingerprint)
    return recent.count()


def _mark(alert: Alert, flapping: bool) -> None:
    alert.flapping = flapping
    alert.save(update_fields=["flapping", "updated_at"])


def notification_for(alert: Alert, kind: str) -> str | None:
    """The notification ``alert``'s change of ``kind`` is worth: ``kind``, ``FLAPPING``, ``SETTLED`` or None.

    Call it in the change's transaction, after the change is in the event
    log. It keeps ``alert.flapping`` true to the fingerprint (saved): a new
    alert of a flapping fingerprint is flapping from the start, and the
    change that makes the fingerprint flap marks it and answers ``FLAPPING``,
    once. While flapping, every change answers None; ``settle_flapping``'s
    ``alert.settled`` answers ``SETTLED``. Otherwise the life-cycle kinds
    notify as themselves, other changes (updates, edits) not at all.
    """
    if kind == EventKind.ALERT_SETTLED:
        return SETTLED
    # A new alert: the fingerprint's earlier alerts say whether it is flapping.
    earlier = Alert.objects.filter(fingerprint=alert.fingerprint, flapping=True).exclude(pk=alert.pk)
    if kind == EventKind.ALERT_FIRED and not alert.flapping and earlier.exists():
        _mark(alert, True)
    if alert.flapping:
        return None
    if (
        kind in STATE_CHANGES
        and changes_within_window(alert.fingerprint, timezone.now()) > settings.OPSCONSOLE_FLAP_CHANGES
    ):
        _mark(alert, True)
        AlertEvent.objects.create(
            kind=EventKind.ALERT_FLAPPING,
            alert=alert,
            incident_id=alert.incident_id,
            actor="system",
            text=f"More than {settings.OPSCONSOLE_FLAP_CHANGES} changes in {settings.OPSCONSOLE_FLAP_WINDOW} s.",
        )
        return FLAPPING
    return kind if kind in NOTIFIED_KINDS else None


def settle_flapping(now: datetime | None = None) -> int:
    """The periodic job: fingerprints that held one state for a whole window stop flapping; returns how many.

    Each one's latest alert gets ``alert.settled`` in the log, is pushed, and
    its current state is notified once (``settled``). Safe to run from two
    schedulers at once: the rows are locked and the flag re-read.
    """
    from alerts.services import SYSTEM_ACTOR, publish_alert

    now = now or timezone.now()
    settled = 0
    for fingerprint in set(Alert.objects.filter(flapping=True).values_list("fingerprint", flat=True)):
        with transaction.atomic():
            rows = list(Alert.objects.select_for_update().filter(fingerprint=fingerprint, flapping=True))
            changes = AlertEvent.objects.filter(kind__in=STATE_CHANGES, alert__fingerprint=fingerprint)
            last_change = changes.aggregate(last=Max("at"))["last"]
            if not rows or (last_change is not None and last_change > now - _window()):
                continue
            Alert.objects.filter(pk__in=[row.pk for row in rows]).update(
                flapping=False, updated_at=now, version=F("version") + 1
            )
            latest = Alert.objects.select_for_update().filter(fingerprint=fingerprint).latest("id")
            AlertEvent.objects.create(
                kind=EventKind.ALERT_SETTLED,
                alert=latest,
                incident_id=latest.incident_id,
                actor=SYSTEM_ACTOR,
                text=f"Held {latest.status} for {settings.OPSCONSOLE_FLAP_WINDOW} s.",
            )
            publish_alert(latest, EventKind.ALERT_SETTLED)
        settled += 1
    return settled

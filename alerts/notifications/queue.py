"""Who hears of an alert change: one ``Delivery`` per channel, queued in the change's own transaction.

Pages (fired, unsilenced, flapping, repeated) go to every enabled channel whose
routing matches, unless the alert is silenced. Follow-ups (acknowledged,
resolved, settled) go to the channels that were paged for this alert, silence
or not: whoever heard it start hears it end (``send_resolved`` opts out of
resolutions).
"""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from alerts.models import Alert, AlertStatus, Delivery, NotificationChannel
from alerts.payloads import AlertDict, alert_data

PAGES = ("alert.fired", "alert.unsilenced", "alert.repeated", "flapping")
RESOLVED = "alert.resolved"
UNACKNOWLEDGED = "alert.unacknowledged"


def _paged_channels(alert_id: int) -> list[NotificationChannel]:
    paged = Delivery.objects.filter(alert_id=alert_id, event__in=PAGES).values("channel_id")
    return list(NotificationChannel.objects.filter(enabled=True, pk__in=paged).order_by("id"))


def queue_for(alert_payload: AlertDict, event_kind: str, **extra: Any) -> list[Delivery]:
    """Queue this alert change for the channels that should hear of it; call inside the change's transaction.

    ``extra`` goes into the payload beside ``event`` and ``alert`` (an acknowledgement's ``comment``).
    """
    alert_id = alert_payload["id"]
    if event_kind in PAGES:
        if alert_payload.get("silenced"):
            return []
        channels = [
            channel
            for channel in NotificationChannel.objects.filter(enabled=True, personal=False).order_by("id")
            if channel.routes(alert_payload["severity"], alert_payload["category"])
        ]
    else:
        channels = _paged_channels(alert_id)
        if event_kind == RESOLVED:
            channels = [channel for channel in channels if channel.send_resolved]
        elif event_kind == UNACKNOWLEDGED:
            # People are paged again by the escalation that starts over; channels hear it here.
            channels = [channel for channel in channels if not channel.personal]
    payload = {"event": event_kind, "alert": alert_payload, **extra}
    deliveries = [
        Delivery(channel=channel, alert_id=alert_id, event=event_kind, payload=payload) for channel in channels
    ]
    return Delivery.objects.bulk_create(deliveries)


def queue_repeats(now: datetime | None = None) -> int:
    """Page again, per channel's ``repeat_interval``, each alert still firing, unacknowledged and unsilenced."""
    now = now or timezone.now()
    queued = 0
    for channel in NotificationChannel.objects.filter(enabled=True, personal=False, repeat_interval__gt=0):
        last_page = Delivery.objects.filter(channel=channel, alert_id=OuterRef("pk"), event__in=PAGES)
        unsent = last_page.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING])
        due = (
            Alert.objects.filter(status=AlertStatus.FIRING, silenced=False)
            .annotate(last_paged=Subquery(last_page.order_by("-created_at").values("created_at")[:1]))
            .exclude(Exists(unsent))  # a dead receiver gets one page in its queue, not one more each interval
        )
        with transaction.atomic():
            # The lock makes two senders' passes take turns: one repeat per interval, not two.
            NotificationChannel.objects.select_for_update().filter(pk=channel.pk).first()
            for alert in due.filter(last_paged__lte=now - timedelta(seconds=channel.repeat_interval or 0)):
                if channel.routes(alert.severity, alert.category):
                    payload = {"event": "alert.repeated", "alert": alert_data(alert)}
                    Delivery.objects.create(channel=channel, alert_id=alert.pk, event="alert.repeated", payload=payload)
                    queued += 1
    return queued


def queue_test(channel: NotificationChannel, actor: str) -> Delivery:
    """Queue a ``test`` notification to ``channel``: a sample alert (``id`` null) that exercises the whole path."""
    now = timezone.now().isoformat().replace("+00:00", "Z")
    sample = {
        "id": None,
        "fingerprint": "opsconsole-test",
        "source": "opsconsole",
        "category": "test",
        "severity": "info",
        "title": f"Test notification for {channel.name}",
        "message": f"Sent by {actor} to check this channel; no alert is firing.",
        "value": None,
        "threshold": None,
        "labels": {"channel": channel.name},
        "status": "firing",
        "silenced": False,
        "starts_at": now,
    }
    return Delivery.objects.create(channel=channel, event="test", payload={"event": "test", "alert": sample})

"""Telling people: webhooks and e-mail for alert changes, with retries and a delivery log.

An alert change queues one ``Delivery`` per matching channel in the same
transaction (so a rolled-back change notifies nobody). The periodic job
``deliver_notifications`` claims due deliveries with a conditional UPDATE —
two workers never send the same one — and sends them outside any request.
Failures are retried with exponential backoff until ``MAX_ATTEMPTS``.
"""

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts.models import Delivery, NotificationChannel
from alerts.payloads import AlertDict
from opsconsole import telemetry

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 2
BACKOFF_CAP_SECONDS = 600
WEBHOOK_TIMEOUT_SECONDS = 10
CLAIM_BATCH = 50
CLAIM_LEASE = timedelta(minutes=2)  # a claimed delivery whose sender died is retried after this
SIGNATURE_HEADER = "X-Opsconsole-Signature"


def sign(secret, body):
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes, keyed with the channel's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def queue_for(alert_payload: AlertDict, event_kind: str) -> list[Delivery]:
    """Queue a delivery of this alert change to every enabled channel whose routing matches.

    Call inside the transaction that made the change. Silenced alerts notify nobody.
    """
    if alert_payload.get("silenced"):
        return []
    channels = NotificationChannel.objects.filter(enabled=True)
    deliveries = [
        Delivery(channel=channel, event=event_kind, payload={"event": event_kind, "alert": alert_payload})
        for channel in channels
        if channel.routes(alert_payload["severity"], alert_payload["category"])
    ]
    return Delivery.objects.bulk_create(deliveries)


def _claim(now):
    """Take up to CLAIM_BATCH due deliveries for this worker; a conditional UPDATE makes the claim exclusive."""
    due = Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Delivery.Status.SENDING, claimed_until__lt=now
    )
    ids = list(
        Delivery.objects.filter(due).order_by("next_attempt_at", "id").values_list("id", flat=True)[:CLAIM_BATCH]
    )
    claimed = []
    for delivery_id in ids:
        taken = Delivery.objects.filter(due, pk=delivery_id).update(
            status=Delivery.Status.SENDING, claimed_until=now + CLAIM_LEASE
        )
        if taken:
            claimed.append(delivery_id)
    return Delivery.objects.select_related("channel").filter(pk__in=claimed).order_by("id")  # oldest news first


def _send_webhook(channel, payload):
    if urllib.parse.urlsplit(channel.url).scheme not in ("http", "https"):
        raise ValueError(f"Webhook URLs must be http or https, not {channel.url!r}")
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        channel.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(channel.secret, body),
            "User-Agent": "opsconsole",
        },
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310 - scheme checked above
        return response.status


def _send_email(channel, payload):
    alert = payload["alert"]
    subject = f"[{alert['severity']}] {alert['status']}: {alert['title']}"[:200]
    body = json.dumps(payload, indent=2, default=str)
    send_mail(subject, body, None, channel.recipients())
    return 0


# A delivery's status after an attempt, as GET /metrics names the attempt's outcome.
OUTCOMES = {Delivery.Status.SENT: "sent", Delivery.Status.PENDING: "retrying", Delivery.Status.FAILED: "failed"}
SENDERS = {NotificationChannel.Kind.WEBHOOK: _send_webhook, NotificationChannel.Kind.EMAIL: _send_email}


def _attempt(delivery, now):
    try:
        code = SENDERS[delivery.channel.kind](delivery.channel, delivery.payload)
        outcome = {"status": Delivery.Status.SENT, "response_code": code or None, "last_error": "", "sent_at": now}
    except urllib.error.HTTPError as error:
        outcome = _failure(
            delivery, now, f"HTTP {error.code}", error.code, retry=error.code >= 500 or error.code == 429
        )
    except Exception as error:  # noqa: BLE001 - timeouts, refused connections, SMTP errors: all retried
        outcome = _failure(delivery, now, f"{type(error).__name__}: {error}"[:500], None, retry=True)
    Delivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts + 1, claimed_until=None, **outcome)
    telemetry.notifications.labels(delivery.channel.kind, OUTCOMES[outcome["status"]]).inc()
    return outcome["status"]


def _failure(delivery, now, error, code, retry):
    attempts = delivery.attempts + 1
    if not retry or attempts >= MAX_ATTEMPTS:
        return {"status": Delivery.Status.FAILED, "last_error": error, "response_code": code}
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
    return {
        "status": Delivery.Status.PENDING,
        "last_error": error,
        "response_code": code,
        "next_attempt_at": now + timedelta(seconds=delay),
    }


def deliver_notifications(now=None):
    """The periodic job: send what is due; returns counts by outcome."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = list(_claim(now))
    outcomes: dict[str, int] = {}
    for delivery in claimed:
        status = _attempt(delivery, now)
        outcomes[status] = outcomes.get(status, 0) + 1
    return outcomes

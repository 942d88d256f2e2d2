"""Sending: each due delivery claimed for its own send, sent on a bounded pool of threads.

The periodic pass (:func:`dispatch_notifications`, on its own Celery queue or
scheduler lane) only picks what is due and hands it to this process's pool;
it never waits for a receiver. A delivery is claimed right before its send by
a conditional UPDATE that also counts the attempt, with a lease longer than
the send can last (``OPSCONSOLE_NOTIFY_TIMEOUT`` bounds every send), so a
slow batch never outlives its claim; a sender killed mid-send leaves the
lease to run out, and the next pass sends the delivery once more.

Order: a delivery waits while an earlier one of the same alert to the same
channel is pending or being sent; other alerts and channels never wait.
At most ``OPSCONSOLE_NOTIFY_PER_CHANNEL`` sends per channel run at once, so a
dead receiver holds only its own share of the pool.
"""

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import F, Min, Q
from django.utils import timezone

from alerts.models import Delivery, NotificationChannel
from alerts.notifications.chat import send_apprise
from alerts.notifications.email import send_email
from alerts.notifications.queue import queue_repeats
from alerts.notifications.render import with_absolute_links
from alerts.notifications.targets import SendError
from alerts.notifications.webhook import send_webhook
from opsconsole import telemetry

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 2
BACKOFF_CAP_SECONDS = 600

Clock = Callable[[], datetime]
# A delivery's status after an attempt, as GET /metrics names the attempt's outcome.
OUTCOMES = {Delivery.Status.SENT: "sent", Delivery.Status.PENDING: "retrying", Delivery.Status.FAILED: "failed"}


def lease() -> timedelta:
    """How long a claim holds: well past the longest a send can take."""
    return timedelta(seconds=3 * settings.OPSCONSOLE_NOTIFY_TIMEOUT + 5)


UNSENT = (Delivery.Status.PENDING, Delivery.Status.SENDING)


def _ready(now: datetime) -> Q:
    """Due: pending and its time has come, or claimed by a sender whose lease ran out."""
    return Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Delivery.Status.SENDING, claimed_until__lt=now
    )


def next_due(channel_id: int, now: datetime, busy: list[int], limit: int) -> list[int]:
    """Up to ``limit`` ids of the channel's due deliveries that are first in their alert's line, oldest due first.

    Two indexed queries instead of one anti-join: the join's plan turns
    quadratic when a burst outruns the table's statistics.
    """
    candidates = list(
        Delivery.objects.filter(_ready(now), channel_id=channel_id)
        .exclude(pk__in=busy)
        .order_by("next_attempt_at", "id")
        .values_list("id", "alert_id")[: max(limit * 4, 16)]
    )
    alert_ids = {alert_id for _, alert_id in candidates if alert_id is not None}
    first_unsent = dict(
        Delivery.objects.filter(channel_id=channel_id, alert_id__in=alert_ids, status__in=UNSENT)
        .order_by()
        .values("alert_id")
        .annotate(first=Min("id"))
        .values_list("alert_id", "first")
    )
    return [pk for pk, alert_id in candidates if alert_id is None or first_unsent.get(alert_id) == pk][:limit]


def _send(delivery: Delivery) -> int | None:
    channel = delivery.channel
    timeout = settings.OPSCONSOLE_NOTIFY_TIMEOUT
    if channel.kind == NotificationChannel.Kind.WEBHOOK:
        body = json.dumps(with_absolute_links(delivery.payload), separators=(",", ":"), default=str).encode()
        return send_webhook(channel.url, channel.secret, f"opsconsole-delivery-{delivery.pk}", body, timeout)
    if channel.kind == NotificationChannel.Kind.EMAIL:
        send_email(channel.recipients(), delivery.payload, timeout)
        return None
    if channel.kind == NotificationChannel.Kind.APPRISE:
        send_apprise(channel.url, delivery.payload, timeout)
        return None
    raise SendError(f"The channel kind {channel.kind!r} cannot be sent.", retry=False)


def _failure(attempts: int, now: datetime, error: SendError) -> dict[str, Any]:
    if not error.retry or attempts >= MAX_ATTEMPTS:
        return {"status": Delivery.Status.FAILED, "last_error": error.message, "response_code": error.code}
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
    return {
        "status": Delivery.Status.PENDING,
        "last_error": error.message,
        "response_code": error.code,
        "next_attempt_at": now + timedelta(seconds=delay),
    }


def attempt(delivery_id: int, clock: Clock) -> str | None:
    """Claim, send and record one delivery; its new status, or None when someone else has it."""
    now = clock()
    # Its place in line was checked when it was picked; an earlier change of the same alert
    # cannot appear since (changes of one alert commit one after another, under its row lock).
    claimed = Delivery.objects.filter(_ready(now), pk=delivery_id).update(
        status=Delivery.Status.SENDING, claimed_until=now + lease(), attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("channel").get(pk=delivery_id)
    connection.close()  # hold no pooled connection while a receiver takes its time
    try:
        code = _send(delivery)
        outcome: dict[str, Any] = {"status": Delivery.Status.SENT, "response_code": code, "last_error": ""}
    except SendError as error:
        outcome = _failure(delivery.attempts, clock(), error)
    except Exception as error:
        logger.exception("Sending delivery %s failed unexpectedly", delivery_id)
        outcome = _failure(delivery.attempts, clock(), SendError(f"Unexpected {type(error).__name__}.", retry=True))
    if outcome["status"] == Delivery.Status.SENT:
        outcome["sent_at"] = clock()
    # Only while still ours: a claim that ran out and was taken over is the other sender's to record.
    Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.SENDING, attempts=delivery.attempts).update(
        claimed_until=None, **outcome
    )
    telemetry.notifications.labels(delivery.channel.kind, OUTCOMES[outcome["status"]]).inc()
    return str(outcome["status"])


class Sender:
    """This process's pool of sending threads, and what each channel has in flight on it.

    A thread that finishes a send takes the channel's next due delivery at
    once (a busy channel does not wait for the next pass). A channel whose
    last attempt failed gets one send at a time until one succeeds, so dead
    receivers hold one thread each, not their whole share.
    """

    def __init__(self, concurrency: int, per_channel: int) -> None:
        self.shape = (concurrency, per_channel)
        self.per_channel = per_channel
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="notify")
        self.lock = threading.Lock()
        self.in_flight: set[int] = set()
        self.per_channel_count: Counter[int] = Counter()
        self.failing: set[int] = set()

    def _take(self, delivery_id: int, channel_id: int) -> bool:
        """Mark a delivery as this process's to send, if the channel has room; call with the lock held."""
        room = 1 if channel_id in self.failing else self.per_channel
        if delivery_id in self.in_flight or self.per_channel_count[channel_id] >= room:
            return False
        self.in_flight.add(delivery_id)
        self.per_channel_count[channel_id] += 1
        return True

    def _room(self, channel_id: int) -> int:
        with self.lock:
            return (1 if channel_id in self.failing else self.per_channel) - self.per_channel_count[channel_id]

    def submit_due(self, clock: Clock) -> list["Future[list[str]]"]:
        # Channel by channel: a dead receiver's backlog must not hide the others' new deliveries.
        futures = []
        for channel_id in NotificationChannel.objects.filter(enabled=True).order_by("id").values_list("id", flat=True):
            room = self._room(channel_id)
            while room > 0 and (delivery_id := self._next_for(channel_id, clock)) is not None:
                futures.append(self.pool.submit(self._run, delivery_id, channel_id, clock))
                room -= 1
        return futures

    def _next_for(self, channel_id: int, clock: Clock, ahead: list[int] | None = None) -> int | None:
        """Take the channel's next due delivery: from ``ahead`` (a thread's look-ahead, refilled here) or the table.

        A look-ahead id may have been sent meanwhile; its claim then fails, harmlessly.
        """
        ahead = [] if ahead is None else ahead
        for fresh in (False, True):
            if fresh:
                with self.lock:
                    busy = list(self.in_flight)
                ahead[:] = next_due(channel_id, clock(), busy, 8)
            while ahead:
                delivery_id = ahead.pop(0)
                with self.lock:
                    if self._take(delivery_id, channel_id):
                        return delivery_id
        return None

    def _run(self, delivery_id: int | None, channel_id: int, clock: Clock) -> list[str]:
        statuses: list[str] = []
        ahead: list[int] = []
        while delivery_id is not None:
            try:
                status = attempt(delivery_id, clock)
            finally:
                close_old_connections()
                with self.lock:
                    self.in_flight.discard(delivery_id)
                    self.per_channel_count[channel_id] -= 1
            if status is not None:
                statuses.append(status)
                with self.lock:
                    (self.failing.discard if status == Delivery.Status.SENT else self.failing.add)(channel_id)
            delivery_id = self._next_for(channel_id, clock, ahead)
        close_old_connections()
        return statuses


_sender: Sender | None = None
_sender_lock = threading.Lock()


def sender() -> Sender:
    """This process's sender, made on first use (after a Celery worker's fork) with the current settings."""
    global _sender
    shape = (settings.OPSCONSOLE_NOTIFY_CONCURRENCY, settings.OPSCONSOLE_NOTIFY_PER_CHANNEL)
    with _sender_lock:
        if _sender is None or _sender.shape != shape:
            _sender = Sender(*shape)
        return _sender


def dispatch_notifications() -> int:
    """The periodic pass: queue repeats, hand what is due to the pool, return at once; how many were handed."""
    queue_repeats()
    return len(sender().submit_due(timezone.now))


def deliver_notifications(now: datetime | None = None) -> dict[str, int]:
    """Send everything due and wait for the outcomes; counts by new status (tests, ``send_test``).

    With ``now``, the clock stands still at it (claims, backoff and ``sent_at`` alike).
    """
    clock: Clock = (lambda: now) if now is not None else timezone.now
    outcomes: Counter[str] = Counter()
    futures = sender().submit_due(clock)
    while futures:
        wait(futures)
        outcomes.update(status for future in futures for status in future.result())
        futures = sender().submit_due(clock)
    return dict(outcomes)

"""Sending: due deliveries claimed in small batches, sent on a bounded pool of threads.

The periodic pass (:func:`dispatch_notifications`, on its own Celery queue or
scheduler lane) only picks what is due and hands it to this process's pool;
it never waits for a receiver. A thread claims a few of one channel's due
deliveries in one transaction (locked rows, the attempt counted), sends them
one after another and records the outcomes in one more, with a lease longer
than the batch can last: a batch starts no send after a failed or slow one,
and ``OPSCONSOLE_NOTIFY_TIMEOUT`` bounds every send, so a slow batch never
outlives its claim. A sender killed mid-send leaves the lease to run out, and
the next pass sends the delivery once more.

Order: a delivery waits while an earlier one of the same alert to the same
channel is pending or being sent; other alerts and channels never wait.
At most ``OPSCONSOLE_NOTIFY_PER_CHANNEL`` threads work on one channel, so a
dead receiver holds only its own share of the pool.
"""

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
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
OUTCOMES: dict[str, str] = {
    Delivery.Status.SENT: "sent",
    Delivery.Status.PENDING: "retrying",
    Delivery.Status.FAILED: "failed",
}


def lease() -> timedelta:
    """How long a claim holds: past the longest a thread's batch can take.

    A batch stops starting sends once ``OPSCONSOLE_NOTIFY_TIMEOUT`` has passed,
    and one send ends within about three timeouts (connect, redirects, an
    SMTP dialogue).
    """
    return timedelta(seconds=4 * settings.OPSCONSOLE_NOTIFY_TIMEOUT + 5)


UNSENT = (Delivery.Status.PENDING, Delivery.Status.SENDING)
# Deliveries a thread claims, sends and records together for a channel whose
# receiver answers quickly: a few statements per batch instead of a few per
# delivery. A slower receiver gets one at a time, so its backlog spreads over
# the channel's threads instead of queueing behind one.
BATCH_SIZE = 8
SLOW_SEND_SECONDS = 0.25


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


def claim(ids: list[int], clock: Clock) -> list[Delivery]:
    """Claim, in one transaction, those of ``ids`` still due; in the order given.

    The rows are locked while claimed, so two senders never both take one.
    Their place in line was checked when they were picked; an earlier change
    of the same alert cannot appear since (changes of one alert commit one
    after another, under its row lock).
    """
    now = clock()
    with transaction.atomic():
        due = Delivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(_ready(now), pk__in=ids)
        deliveries = {delivery.pk: delivery for delivery in due.select_related("channel")}
        Delivery.objects.filter(pk__in=list(deliveries)).update(
            status=Delivery.Status.SENDING, claimed_until=now + lease(), attempts=F("attempts") + 1
        )
    for delivery in deliveries.values():
        delivery.status, delivery.attempts = Delivery.Status.SENDING, delivery.attempts + 1
    return [deliveries[pk] for pk in ids if pk in deliveries]


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


def _failure(delivery: Delivery, now: datetime, error: SendError) -> None:
    delivery.last_error, delivery.response_code = error.message, error.code
    if not error.retry or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = Delivery.Status.FAILED
        return
    delivery.status = Delivery.Status.PENDING
    delivery.next_attempt_at = now + timedelta(
        seconds=min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (delivery.attempts - 1))
    )


def send_one(delivery: Delivery, clock: Clock) -> None:
    """Send a claimed delivery and set its outcome on it (not yet saved)."""
    try:
        code = _send(delivery)
    except SendError as error:
        _failure(delivery, clock(), error)
    except Exception as error:
        logger.exception("Sending delivery %s failed unexpectedly", delivery.pk)
        _failure(delivery, clock(), SendError(f"Unexpected {type(error).__name__}.", retry=True))
    else:
        delivery.status, delivery.response_code, delivery.last_error = Delivery.Status.SENT, code, ""
        delivery.sent_at = clock()
    delivery.claimed_until = None
    telemetry.notifications.labels(delivery.channel.kind, OUTCOMES[delivery.status]).inc()


RECORDED_FIELDS = ["status", "attempts", "claimed_until", "next_attempt_at", "response_code", "last_error", "sent_at"]


@dataclass
class BatchOutcome:
    statuses: list[str] = field(default_factory=list)  # of the deliveries sent, in order
    slow: bool = False  # the last send took longer than SLOW_SEND_SECONDS


def send_and_record(deliveries: list[Delivery], clock: Clock) -> BatchOutcome:
    """Send claimed deliveries one after another, then record every outcome in one transaction.

    After a failed or slow send no further one starts: the rest go back to
    the queue with their attempt uncounted, so the lease always outlasts the
    batch and a receiver in trouble holds up no more than one send.
    """
    connection.close()  # hold no pooled connection while a receiver takes its time
    outcome = BatchOutcome()
    sent: list[Delivery] = []
    put_back: list[Delivery] = []
    for delivery in deliveries:
        if sent and (outcome.slow or sent[-1].status != Delivery.Status.SENT):
            put_back.append(delivery)
            continue
        started = time.monotonic()
        send_one(delivery, clock)
        outcome.slow = time.monotonic() - started > SLOW_SEND_SECONDS
        sent.append(delivery)
    with transaction.atomic():
        # Only rows still ours, at our claim's attempt: a claim that ran out and was taken over is the other sender's.
        claimed = Delivery.objects.select_for_update().filter(pk__in=[delivery.pk for delivery in deliveries])
        attempts = dict(claimed.filter(status=Delivery.Status.SENDING).values_list("pk", "attempts"))
        ours = [delivery for delivery in deliveries if attempts.get(delivery.pk) == delivery.attempts]
        for delivery in put_back:  # the attempt claimed for it never started
            delivery.status, delivery.claimed_until, delivery.attempts = (
                Delivery.Status.PENDING,
                None,
                delivery.attempts - 1,
            )
        Delivery.objects.bulk_update(ours, RECORDED_FIELDS)
    outcome.statuses = [str(delivery.status) for delivery in sent]
    return outcome


class Sender:
    """This process's pool of sending threads, and what each channel has in flight on it.

    Each thread works through one channel's due deliveries, a batch at a time,
    until none is left (a busy channel does not wait for the next pass). At
    most ``per_channel`` threads work on one channel; a channel whose last
    attempt failed gets one thread and one delivery at a time until one
    succeeds, so dead receivers hold one thread each, not their whole share.
    """

    def __init__(self, concurrency: int, per_channel: int) -> None:
        self.shape = (concurrency, per_channel)
        self.per_channel = per_channel
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="notify")
        self.lock = threading.Lock()
        self.in_flight: set[int] = set()
        self.threads_on: Counter[int] = Counter()
        self.failing: set[int] = set()
        self.slow: set[int] = set()

    def _pick(self, channel_id: int, clock: Clock) -> list[int]:
        """Mark the channel's next due deliveries as this process's to send; empty when none is due."""
        with self.lock:
            busy = list(self.in_flight)
            size = 1 if channel_id in self.failing or channel_id in self.slow else BATCH_SIZE
        ids = next_due(channel_id, clock(), busy, size)
        with self.lock:
            ids = [pk for pk in ids if pk not in self.in_flight]
            self.in_flight.update(ids)
        return ids

    def submit_due(self, clock: Clock) -> list["Future[list[str]]"]:
        # Channel by channel: a dead receiver's backlog must not hide the others' new deliveries.
        futures = []
        for channel_id in NotificationChannel.objects.filter(enabled=True).order_by("id").values_list("id", flat=True):
            while True:
                with self.lock:
                    if self.threads_on[channel_id] >= self._allowed_threads(channel_id):
                        break
                    self.threads_on[channel_id] += 1
                ids = self._pick(channel_id, clock)
                if not ids:
                    with self.lock:
                        self.threads_on[channel_id] -= 1
                    break
                futures.append(self.pool.submit(self._run, ids, channel_id, clock))
        return futures

    def _allowed_threads(self, channel_id: int) -> int:
        """How many threads may work on the channel: one while its last attempt failed; call with the lock held."""
        return 1 if channel_id in self.failing else self.per_channel

    def _may_go_on(self, channel_id: int) -> bool:
        """Whether this thread may take the channel's next batch; one that may not stops counting as its thread."""
        with self.lock:
            if self.threads_on[channel_id] > self._allowed_threads(channel_id):
                self.threads_on[channel_id] -= 1
                return False
            return True

    def _run(self, ids: list[int], channel_id: int, clock: Clock) -> list[str]:
        statuses: list[str] = []
        counted = True
        try:
            while ids:
                try:
                    batch = send_and_record(claim(ids, clock), clock)
                finally:
                    close_old_connections()
                    with self.lock:
                        self.in_flight.difference_update(ids)
                statuses += batch.statuses
                if batch.statuses:
                    with self.lock:
                        failed = batch.statuses[-1] != Delivery.Status.SENT
                        (self.failing.add if failed else self.failing.discard)(channel_id)
                        (self.slow.add if batch.slow else self.slow.discard)(channel_id)
                counted = self._may_go_on(channel_id)
                ids = self._pick(channel_id, clock) if counted else []
        finally:
            if counted:
                with self.lock:
                    self.threads_on[channel_id] -= 1
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

"""Carrying the durable stream from the database to the sockets: numbering, sending, catching up.

Services record each durable event in the transaction of its change
(``realtime.publish.record_event``). The relay then, for each topic:

1. **numbers** the committed rows that have no seq yet: under the topic's
   cursor row, locked (``SELECT … FOR UPDATE``), it gives them the seqs after
   ``last_seq`` in id order and commits. Two relays at once take turns on
   that lock, and the second sees what the first numbered, so no seq is
   handed out twice. A row whose transaction commits late, after rows with
   higher ids were numbered, is not skipped: the relay looks for rows without
   a seq, not for ids past a mark, so it is numbered by the next pass. Within
   one pass id order is commit order for any one alert or incident, because
   its row lock makes a second change insert its event after the first
   committed.
2. **sends** the rows after ``published_seq``, in seq order, to the replay
   buffer and the channel layer, under the same lock, then advances
   ``published_seq`` past what Redis took. A relay that dies after numbering
   and before advancing leaves the rows to be sent again by the next pass;
   resent events are exact duplicates (same seq, id and bytes), which
   clients drop by seq.

When Redis refuses the buffer write or the PUBLISH, the cursor is marked
degraded (in the database, so every process and ``/readyz`` sees it), the
rows stay unsent, and the periodic pass retries; the mark clears once Redis
takes writes again. Passes run after each commit that recorded events (the
fast path) and every ``OPSCONSOLE_RELAY_INTERVAL`` seconds as a periodic job
(Celery beat in the services shape, the in-process scheduler in the embedded
one), which sends whatever a process that died after its commit left. Each
web process with sockets also starts a pass when events wait too long
(``stalled``), so a stopped worker does not stop delivery.
"""

import functools
import logging
import os
import threading
import time
from datetime import timedelta

from django.db import connections, transaction
from django.db.models import BigIntegerField, Case, F, Value, When
from django.utils import timezone

from opsconsole import telemetry
from realtime.envelope import Envelope
from realtime.models import StreamCursor, StreamEvent
from realtime.replay import BUFFER_ERRORS, buffer_name, cursor_for, event_envelope, replay_buffer, resume_max_events
from realtime.topics import DURABLE_TYPES, group_name

logger = logging.getLogger(__name__)

BATCH = 500
# Fault tests only (tests/faults): a process with this set to a topic exits
# right after a commit that recorded events of that topic, before relaying
# them: the crash the periodic pass exists for, made deterministic.
EXIT_AFTER_COMMIT_ENV = "OPSCONSOLE_FAULT_EXIT_AFTER_COMMIT"
STALL_AFTER = timedelta(seconds=2)  # an event not numbered this long after its commit was left by a dead process
KEEP_AT_LEAST = timedelta(hours=1)  # rows younger than this are never pruned
PRUNE_MARGIN = 2  # rows kept: this many times OPSCONSOLE_RESUME_MAX_EVENTS, the most a resume reads

# One pass at a time per process; across processes the cursor row's lock.
_passes = threading.Lock()
# Topics a commit asked a pass for. A committing request does not queue
# behind another thread's pass: it leaves its topic here and returns, and
# the thread passing takes it before it leaves, so one pass carries the
# events of many commits and no request waits for the others' passes.
_wanted: set[str] = set()
_wanted_lock = threading.Lock()
# Passes a thread runs for commits that came while it was passing, before it
# leaves the rest to the next commit or the periodic pass; it is a request
# thread, and under steady writes there would always be one more.
ROUNDS_FOR_OTHERS = 3


def relay_after_commit(topic: str) -> None:
    """Have the current transaction's commit start a relay pass of ``topic``.

    A transaction that recorded several events runs several passes; all but
    the first find nothing to do in two cheap reads (``_nothing_to_do_now``).
    """
    transaction.on_commit(functools.partial(_after_commit, topic))


def _after_commit(topic: str) -> None:
    if os.environ.get(EXIT_AFTER_COMMIT_ENV) == topic:
        os._exit(137)
    try:
        relay(topic, from_commit=True)
    except Exception:  # the write succeeded; the periodic pass delivers what this one could not
        logger.exception("Relay pass after commit failed on %s", topic)


def relay(topic: str, *, from_commit: bool = False) -> int:
    """Number and send what is pending on ``topic``; returns how many events this thread sent.

    ``from_commit``: run by a request that just committed. While another
    thread of the process is passing, the request only asks it for one more
    pass (``_wanted``) and returns. While the stream is degraded it does
    nothing: the periodic pass, which retries anyway, holds the cursor's
    lock while it waits on a Redis that refuses writes, and the request must
    not wait behind it.
    """
    sent = 0
    if from_commit:
        with _wanted_lock:
            _wanted.add(topic)
    else:
        with _passes:
            sent += _pass(topic, from_commit=False)
    return sent + _passes_for_commits()


def _passes_for_commits() -> int:
    """Pass over the topics commits asked for, unless another thread of the process is passing already."""
    sent = 0
    for _ in range(1 + ROUNDS_FOR_OTHERS):
        if not _passes.acquire(blocking=False):
            return sent  # the thread passing looks at _wanted again once it lets go
        try:
            with _wanted_lock:
                topics = sorted(_wanted)
                _wanted.clear()
            for topic in topics:
                sent += _pass(topic, from_commit=True)
        finally:
            _passes.release()
        with _wanted_lock:
            if not _wanted:
                return sent
    return sent  # still wanted: the next commit's pass, or the periodic one, takes it


def _pass(topic: str, *, from_commit: bool) -> int:
    cursor = cursor_for(topic)  # the row exists before anyone locks it
    if from_commit and _nothing_to_do_now(cursor):
        return 0
    total = 0
    while True:
        numbered, degraded = _number(topic)
        if degraded and from_commit:
            return total  # marked by another relay meanwhile
        sent, healthy = _send(topic)
        total += sent
        if not healthy or (numbered < BATCH and sent < BATCH):
            return total


def _nothing_to_do_now(cursor: StreamCursor) -> bool:
    """Read without the lock: the stream is degraded (left to the periodic pass), or nothing is pending."""
    cursor.refresh_from_db(fields=["last_seq", "published_seq", "degraded_since"])
    if cursor.degraded_since is not None:
        return True
    return (
        cursor.published_seq >= cursor.last_seq
        and not StreamEvent.objects.filter(topic=cursor.topic, seq__isnull=True).exists()
    )


_catching_up = threading.Lock()


def catch_up_soon() -> None:
    """Run a relay pass over every topic in a thread of its own, unless one is running: for a degraded stream.

    Called where a degraded stream is noticed in a web process (a refused
    handshake, ``/readyz``), so delivery resumes as soon as Redis takes
    writes, without waiting for the worker's next periodic pass.
    """
    if not _catching_up.acquire(blocking=False):
        return

    def run() -> None:
        try:
            relay_all()
        except Exception:
            logger.warning("Catching up the streams failed", exc_info=True)
        finally:
            connections.close_all()
            _catching_up.release()

    threading.Thread(target=run, name="stream-catch-up", daemon=True).start()


def stalled() -> bool:
    """Whether events wait longer than a relay pass should take: a dead writer's, or a periodic pass missing.

    Read by each web process's watch (``realtime.layer_watch``) every second,
    so delivery does not depend on the Celery worker alone.
    """
    waited = timezone.now() - STALL_AFTER
    return (
        StreamEvent.objects.filter(seq__isnull=True, created_at__lt=waited).exists()
        or StreamCursor.objects.filter(published_seq__lt=F("last_seq"), degraded_since__isnull=True).exists()
    )


def relay_all() -> dict[str, int]:
    """The periodic pass over every durable topic; returns how many events each sent."""
    return {topic: relay(topic) for topic in DURABLE_TYPES}


def _locked(topic: str) -> StreamCursor:
    return StreamCursor.objects.select_for_update().get(topic=topic)


def _number(topic: str) -> tuple[int, bool]:
    with transaction.atomic():
        cursor = _locked(topic)
        ids = list(
            StreamEvent.objects.filter(topic=topic, seq__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)[:BATCH]
        )
        if ids:
            first = cursor.last_seq + 1
            StreamEvent.objects.filter(id__in=ids).update(
                seq=Case(
                    *(When(id=row_id, then=Value(first + n)) for n, row_id in enumerate(ids)),
                    output_field=BigIntegerField(),
                )
            )
            cursor.last_seq += len(ids)
            cursor.save(update_fields=["last_seq"])
        return len(ids), cursor.degraded_since is not None


def _send(topic: str) -> tuple[int, bool]:
    """Send the numbered rows not yet sent; returns how many went and whether Redis took them all."""
    from realtime.publish import group_send

    with transaction.atomic():
        cursor = _locked(topic)
        rows = list(
            StreamEvent.objects.filter(topic=topic, seq__gt=cursor.published_seq, seq__lte=cursor.last_seq).order_by(
                "seq"
            )[:BATCH]
        )
        if not rows:
            if cursor.degraded_since is not None:
                return 0, _probe(cursor)
            return 0, True
        events = [event_envelope(row) for row in rows]
        problem = None
        try:
            replay_buffer().store(buffer_name(cursor), events)
        except BUFFER_ERRORS as error:
            problem = f"the replay buffer refused a write: {error}"
        sent: list[Envelope] = []
        try:
            for event in events:
                group_send(group_name(topic), {"type": "stream.event", "event": event})
                sent.append(event)
        except Exception as error:  # noqa: BLE001 - whatever the layer raises, the rows stay to be resent
            problem = f"publishing failed: {error}"
        if sent:
            cursor.published_seq = sent[-1]["meta"]["seq"]
        for event in sent:
            telemetry.events_published.labels(topic, event["type"]).inc()
        if problem is not None:
            telemetry.publish_failures.labels(topic).inc()
            _mark_degraded(cursor, problem)
        elif cursor.degraded_since is not None:
            _clear_degraded(cursor)
        cursor.save(update_fields=["published_seq", "degraded_since", "degraded_reason"])
        return len(sent), problem is None


def _mark_degraded(cursor: StreamCursor, problem: str) -> None:
    if cursor.degraded_since is None:
        logger.error("The %s stream is degraded: %s", cursor.topic, problem)
        cursor.degraded_since = timezone.now()
    cursor.degraded_reason = problem[:500]


def _clear_degraded(cursor: StreamCursor) -> None:
    logger.warning("The %s stream is healthy again (degraded since %s)", cursor.topic, cursor.degraded_since)
    cursor.degraded_since = None
    cursor.degraded_reason = ""


def _probe(cursor: StreamCursor) -> bool:
    """Nothing to send on a degraded stream: a small write says whether Redis takes writes again."""
    try:
        replay_buffer().probe()
    except BUFFER_ERRORS as error:
        cursor.degraded_reason = f"Redis still refuses writes: {error}"[:500]
        cursor.save(update_fields=["degraded_reason"])
        return False
    _clear_degraded(cursor)
    cursor.save(update_fields=["degraded_since", "degraded_reason"])
    return True


def degraded_streams() -> dict[str, str]:
    """Topic → why, for every stream Redis last refused; what ``/readyz`` and the layer watch read."""
    return {
        topic: f"degraded since {since:%H:%M:%S}: {reason}"
        for topic, since, reason in StreamCursor.objects.filter(degraded_since__isnull=False).values_list(
            "topic", "degraded_since", "degraded_reason"
        )
    }


def prune_stream() -> int:
    """Delete sent rows no resume can ask for any more: beyond twice the resume limit, and over an hour old."""
    deleted = 0
    cutoff = timezone.now() - KEEP_AT_LEAST
    for cursor in StreamCursor.objects.all():
        below = min(cursor.published_seq, cursor.last_seq) - PRUNE_MARGIN * resume_max_events()
        deleted += StreamEvent.objects.filter(topic=cursor.topic, seq__lte=below, created_at__lt=cutoff).delete()[0]
    return deleted


def wait_until_sent(topic: str, seq: int, timeout: float = 5.0) -> bool:
    """Whether ``topic`` was sent through ``seq`` within ``timeout`` seconds (tests and the bench)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cursor_for(topic).published_seq >= seq:
            return True
        time.sleep(0.02)
    return False

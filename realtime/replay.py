"""The buffer that ``resume`` replays from first, and the durable stream it falls back to.

Durable events are numbered contiguously per topic by the relay
(``realtime.relay``) and stored in the database (``realtime.models.StreamEvent``)
before any socket hears of them. The buffer keeps the latest
``OPSCONSOLE_REPLAY_MAX_EVENTS`` of them per topic for speed: in Redis with
``REDIS_URL`` (a sorted set scored by seq, shared by every web process), in
this process without it. Because seqs are contiguous, the buffer can tell for
itself whether it holds every event a client missed; when it does not (Redis
restarted empty, refused a write, trimmed them), the database answers with
the same events, read in pages. A resume of more than
``OPSCONSOLE_RESUME_MAX_EVENTS`` events, or from before what the database
keeps, is told to resync instead.

A topic's stream has an ``epoch`` (``StreamCursor.epoch``) that names its
buffer: a recreated database numbers from 1 again under a new epoch, and
never meets a buffer of the old one.
"""

import json
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, cast

import redis
from django.conf import settings

from realtime.envelope import Envelope
from realtime.models import StreamCursor, StreamEvent
from realtime.topics import DURABLE_TYPES

logger = logging.getLogger(__name__)

BUFFER_ERRORS = (redis.RedisError, OSError)  # what an unreachable or refusing buffer raises
BUFFER_TTL_SECONDS = 24 * 3600  # a buffer nobody writes to any more (an old epoch) goes away
LOG_PAGE_ROWS = 200  # a resume from the database reads this many rows at a time
REPLAYED_FROM = "event_log"
_EVENT_IDS = uuid.UUID("7d6bb7a8-58f4-4bd9-9a53-3c0e2b0c6f10")


def max_events() -> int:
    return int(settings.OPSCONSOLE_REPLAY_MAX_EVENTS)


def resume_max_events() -> int:
    return int(settings.OPSCONSOLE_RESUME_MAX_EVENTS)


def event_envelope(row: StreamEvent) -> Envelope:
    """The frame of a numbered row; the same bytes each time, so a republished event is an exact duplicate."""
    return {
        "type": row.type,
        "id": uuid.uuid5(_EVENT_IDS, f"{row.topic}:{row.pk}").hex,
        "timestamp": row.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": row.data,
        "meta": {"seq": row.seq},
    }


class ReplayBuffer(Protocol):
    """The latest numbered events of each stream, for ``resume``."""

    def store(self, stream: str, events: list[Envelope]) -> None: ...

    def since(self, stream: str, seq: int, through: int) -> list[Envelope] | None: ...

    def probe(self) -> None: ...


def _contiguous(events: list[Envelope], seq: int, through: int) -> list[Envelope] | None:
    if [event["meta"]["seq"] for event in events] != list(range(seq + 1, through + 1)):
        return None
    return events


class MemoryReplayBuffer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, OrderedDict[int, Envelope]] = {}

    def store(self, stream: str, events: list[Envelope]) -> None:
        with self._lock:
            kept = self._events.setdefault(stream, OrderedDict())
            for event in events:
                kept[event["meta"]["seq"]] = event
            while len(kept) > max_events():
                kept.popitem(last=False)

    def since(self, stream: str, seq: int, through: int) -> list[Envelope] | None:
        """Events ``seq + 1`` to ``through``, or None unless the buffer holds every one of them."""
        with self._lock:
            kept = self._events.get(stream, OrderedDict())
            return _contiguous([kept[n] for n in range(seq + 1, through + 1) if n in kept], seq, through)

    def probe(self) -> None:
        return None  # this process's memory takes writes while the process runs


class RedisReplayBuffer:
    def __init__(self, url: str, prefix: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix

    def _key(self, stream: str) -> str:
        return f"{self._prefix}:replay:{stream}"

    def store(self, stream: str, events: list[Envelope]) -> None:
        if not events:
            return
        key = self._key(stream)
        first, last = events[0]["meta"]["seq"], events[-1]["meta"]["seq"]
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, first, last)  # a republished event replaces its copy
            pipe.zadd(key, {json.dumps(event, separators=(",", ":")): event["meta"]["seq"] for event in events})
            pipe.zremrangebyrank(key, 0, -max_events() - 1)
            pipe.expire(key, BUFFER_TTL_SECONDS)
            pipe.execute()

    def since(self, stream: str, seq: int, through: int) -> list[Envelope] | None:
        members = cast(list[bytes], self._redis.zrangebyscore(self._key(stream), seq + 1, through))
        return _contiguous([cast(Envelope, json.loads(member)) for member in members], seq, through)

    def probe(self) -> None:
        """A small write that expires: raises while Redis answers PING but refuses writes (full, paused)."""
        self._redis.set(f"{self._prefix}:write-probe", "1", px=5000)


@lru_cache(maxsize=1)
def replay_buffer() -> ReplayBuffer:
    """The process's buffer, chosen by whether ``REDIS_URL`` is set."""
    if settings.REDIS_URL:
        return RedisReplayBuffer(str(settings.REDIS_URL), str(settings.OPSCONSOLE_REDIS_PREFIX))
    return MemoryReplayBuffer()


def cursor_for(topic: str) -> StreamCursor:
    """The topic's cursor row, created with its stream's epoch the first time a topic is asked about."""
    return StreamCursor.objects.get_or_create(topic=topic)[0]


def buffer_name(cursor: StreamCursor) -> str:
    return f"{cursor.topic}:{cursor.epoch}"


def stream_position(topic: str) -> int:
    """The latest seq sent on ``topic``, for a page or a REST list to resume from.

    Read it before the data it goes with: everything numbered up to it is in
    that data, so a socket resuming from it misses nothing (it may hear again
    of a change the data already shows; versions make that harmless). Raises
    what the database raises: the data cannot be read either, and one quick
    503 beats waiting for the database twice.
    """
    return cursor_for(topic).published_seq


@dataclass(frozen=True)
class Replay:
    events: list[Envelope]
    seq: int  # the client is current through this seq once it has the events
    source: str  # "buffer" or "event_log"


def replay_since(topic: str, since: int) -> Replay | str:
    """What a client that last saw ``since`` on ``topic`` missed, or why it must resync instead.

    The events ``since + 1`` through the latest numbered seq, exactly, from
    the buffer when it holds them all, else from the database.
    """
    if topic not in DURABLE_TYPES:
        return "This endpoint sends snapshots, which are not replayed; reload the current state over REST."
    cursor = cursor_for(topic)
    target = cursor.last_seq
    if since > target:
        return "This seq is not one of this stream's (the stream was reset); reload the current state over REST."
    if target - since > resume_max_events():
        return f"More than {resume_max_events()} events since then; reload the current state over REST."
    if since == target:
        return Replay([], target, "buffer")
    try:
        events = replay_buffer().since(buffer_name(cursor), since, target)
    except BUFFER_ERRORS as error:
        logger.info("Resuming %s from the database: the buffer does not answer (%s)", topic, error)
        events = None
    if events is not None:
        return Replay(events, target, "buffer")
    events = _from_log(topic, since, target)
    if events is None:
        return "Events after this seq are no longer kept; reload the current state over REST."
    return Replay(events, target, REPLAYED_FROM)


def _from_log(topic: str, since: int, through: int) -> list[Envelope] | None:
    events: list[Envelope] = []
    after = since
    while after < through:
        rows = list(
            StreamEvent.objects.filter(topic=topic, seq__gt=after, seq__lte=through).order_by("seq")[:LOG_PAGE_ROWS]
        )
        if not rows or rows[0].seq != after + 1:
            return None  # pruned (realtime.relay.prune_stream)
        for row in rows:
            event = event_envelope(row)
            event["meta"]["replayed_from"] = REPLAYED_FROM
            events.append(event)
        after = cast(int, rows[-1].seq)
    return _contiguous(events, since, through)

"""Per-topic sequence numbers, the buffer that ``resume`` replays from, and its fall-back to a durable log.

A seq is a clock reading in microseconds, or one more than the previous seq
when two events fall in the same microsecond (a hybrid clock). Seqs therefore
increase per topic, a restarted process or an emptied Redis numbers above
every seq handed out before, and a seq says roughly when its event was
published, which is what lets a durable log answer for it (below).

Every pushed event is kept for at least ``REPLAY_MIN_SECONDS`` and the last
``REPLAY_MIN_EVENTS`` events, whichever keeps more, up to
``OPSCONSOLE_REPLAY_MAX_EVENTS`` so a flood cannot exhaust memory. Each buffer
also keeps a watermark, ``kept_from``: every event numbered after it is still
held. Trimming raises it; so does a publish that failed (the event was
committed but never numbered, so the buffer alone would skip it).

With ``REDIS_URL`` the counter, watermark and buffer live in Redis (a sorted
set scored by seq), so every web process numbers and replays the same stream;
without it they live in this process, which in the embedded shape is the only
one.

When the buffer cannot answer (Redis restarted empty, a publish failed, the
gap is older than what is kept), a topic with a durable log, registered with
``register_durable_log``, answers instead: the alerts topic replays the
current state of every alert and incident its event log in the database says
changed since then.
"""

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol, cast

import redis
from django.conf import settings

from realtime.envelope import Envelope

logger = logging.getLogger(__name__)

REPLAY_MIN_SECONDS = 300
REPLAY_MIN_EVENTS = 1000
# A durable log answers gaps up to this old; an older seq is told to resync.
LOG_MAX_AGE = timedelta(hours=24)
# How far before a seq's clock reading the log is read: an event is committed
# a moment before it is numbered, and web processes' clocks differ a little.
LOG_CLOCK_MARGIN = timedelta(seconds=30)

BUFFER_ERRORS = (redis.RedisError, OSError)  # what an unreachable buffer raises


def now_micros() -> int:
    return time.time_ns() // 1000


def seq_time(seq: int) -> datetime:
    """When (about) the event numbered ``seq`` was published."""
    return datetime.fromtimestamp(seq / 1_000_000, tz=UTC)


def max_events() -> int:
    return int(settings.OPSCONSOLE_REPLAY_MAX_EVENTS)


class ReplayBuffer(Protocol):
    """Numbers events per topic and keeps the recent ones for ``resume``."""

    def append(self, topic: str, event: Envelope, *, after_a_loss: bool = False) -> int: ...

    def latest_seq(self, topic: str) -> int: ...

    def since(self, topic: str, seq: int) -> list[Envelope] | None: ...


class MemoryReplayBuffer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._start = now_micros()
        self._seq: dict[str, int] = {}
        self._kept_from: dict[str, int] = {}
        self._events: dict[str, deque[tuple[float, Envelope]]] = {}

    def append(self, topic: str, event: Envelope, *, after_a_loss: bool = False) -> int:
        """Number ``event`` (setting ``meta.seq``) and keep it; returns the seq.

        ``after_a_loss``: an earlier publish on this topic failed, so nothing
        before this event can be vouched for.
        """
        with self._lock:
            previous = self._seq.get(topic, self._start)
            if after_a_loss:
                self._kept_from[topic] = previous + 1  # a client at `previous` missed the lost event
            seq = max(previous + 1, now_micros())
            self._seq[topic] = seq
            event["meta"]["seq"] = seq
            events = self._events.setdefault(topic, deque())
            events.append((time.monotonic(), event))
            cutoff = time.monotonic() - REPLAY_MIN_SECONDS
            while len(events) > max_events() or (len(events) > REPLAY_MIN_EVENTS and events[0][0] < cutoff):
                self._kept_from[topic] = events.popleft()[1]["meta"]["seq"]
            return seq

    def latest_seq(self, topic: str) -> int:
        with self._lock:
            return self._seq.get(topic, self._start)

    def since(self, topic: str, seq: int) -> list[Envelope] | None:
        """Events after ``seq`` in order, or None when the buffer no longer holds all of them."""
        with self._lock:
            latest = self._seq.get(topic, self._start)
            if not self._kept_from.get(topic, self._start) <= seq <= latest:
                return None
            return [event for _, event in self._events.get(topic, ()) if event["meta"]["seq"] > seq]


# Numbering, storing and trimming in one script keeps seq order equal to
# buffer order, and the watermark true, even when several processes publish at
# once. Seqs are below 2^53, so Lua's doubles hold them exactly; '%.0f' keeps
# them from being written in exponent form.
APPEND_SCRIPT = """
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local previous = tonumber(redis.call('GET', KEYS[1]) or now_us)
if ARGV[5] == '1' then
  redis.call('SET', KEYS[3], string.format('%.0f', previous + 1))
elseif redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('SET', KEYS[3], string.format('%.0f', previous))
end
local seq = math.max(previous + 1, now_us)
redis.call('SET', KEYS[1], string.format('%.0f', seq))
local now_ms = math.floor(now_us / 1000)
redis.call('ZADD', KEYS[2], seq, now_ms .. '|' .. ARGV[1])
local count = redis.call('ZCARD', KEYS[2])
local cutoff = now_ms - tonumber(ARGV[2]) * 1000
while count > tonumber(ARGV[3]) do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local at = tonumber(string.match(oldest[1], '^(%d+)|'))
  if count <= tonumber(ARGV[4]) and at >= cutoff then break end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, 0)
  redis.call('SET', KEYS[3], oldest[2])
  count = count - 1
end
return seq
"""

# The latest seq, starting the numbering (and its watermark) at the clock if none has begun.
LATEST_SCRIPT = """
local clock = redis.call('TIME')
local now_us = string.format('%.0f', tonumber(clock[1]) * 1000000 + tonumber(clock[2]))
if redis.call('SET', KEYS[1], now_us, 'NX') then
  redis.call('SET', KEYS[2], now_us)
end
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]) or now_us}
"""


class RedisReplayBuffer:
    def __init__(self, url: str, prefix: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._append = self._redis.register_script(APPEND_SCRIPT)
        self._latest = self._redis.register_script(LATEST_SCRIPT)
        self._prefix = prefix

    def _keys(self, topic: str) -> tuple[str, str, str]:
        return f"{self._prefix}:seq:{topic}", f"{self._prefix}:replay:{topic}", f"{self._prefix}:kept-from:{topic}"

    def append(self, topic: str, event: Envelope, *, after_a_loss: bool = False) -> int:
        event["meta"].pop("seq", None)
        body = json.dumps(event, separators=(",", ":"))
        seq = int(
            self._append(
                keys=self._keys(topic),
                args=[body, REPLAY_MIN_SECONDS, REPLAY_MIN_EVENTS, max_events(), "1" if after_a_loss else "0"],
            )
        )
        event["meta"]["seq"] = seq
        return seq

    def _latest_and_kept_from(self, topic: str) -> tuple[int, int]:
        seq_key, _, kept_key = self._keys(topic)
        latest, kept_from = cast(list[bytes], self._latest(keys=[seq_key, kept_key]))
        return int(latest), int(kept_from)

    def latest_seq(self, topic: str) -> int:
        return self._latest_and_kept_from(topic)[0]

    def since(self, topic: str, seq: int) -> list[Envelope] | None:
        latest, kept_from = self._latest_and_kept_from(topic)
        if not kept_from <= seq <= latest:
            return None
        events: list[Envelope] = []
        members = cast(
            list[tuple[bytes, float]], self._redis.zrangebyscore(self._keys(topic)[1], seq + 1, "+inf", withscores=True)
        )
        for member, score in members:
            event = cast(Envelope, json.loads(member.split(b"|", 1)[1]))
            event["meta"]["seq"] = int(score)
            events.append(event)
        return events


@lru_cache(maxsize=1)
def replay_buffer() -> ReplayBuffer:
    """The process's buffer, chosen by whether ``REDIS_URL`` is set."""
    if settings.REDIS_URL:
        return RedisReplayBuffer(str(settings.REDIS_URL), str(settings.OPSCONSOLE_REDIS_PREFIX))
    return MemoryReplayBuffer()


def stream_position(topic: str) -> int | None:
    """The latest seq of ``topic``, for a page to resume from; None when the buffer cannot be reached.

    Read it before the data it goes with, so the page misses nothing. A page
    rendered during a Redis outage still renders; its socket starts afresh.
    """
    try:
        return replay_buffer().latest_seq(topic)
    except BUFFER_ERRORS as error:
        logger.warning("Rendering without a stream position for %s: %s", topic, error)
        return None


DurableLogReader = Callable[[datetime], list[Envelope] | None]
_durable_logs: dict[str, DurableLogReader] = {}


def register_durable_log(topic: str, reader: DurableLogReader) -> None:
    """Let ``reader(moment)`` answer ``resume`` on ``topic`` when the buffer cannot.

    It returns the events (envelopes) that bring a client current with every
    change since ``moment``, or None when there are too many to replay.
    """
    _durable_logs[topic] = reader


@dataclass(frozen=True)
class Replay:
    events: list[Envelope]
    seq: int  # the client is current through this seq once it has the events
    source: str  # "buffer" or "event_log"


def replay_since(topic: str, since: int) -> Replay | None:
    """What a client that last saw ``since`` on ``topic`` missed, or None when it must resync.

    The buffer answers with the events themselves when it still holds every
    one after ``since``. Otherwise a durable log, where the topic has one,
    answers with the current state of everything changed since then: enough
    for a client that keeps state by id, and duplicates are harmless to it.
    """
    buffer = replay_buffer()
    events = buffer.since(topic, since)
    if events is not None:
        return Replay(events, events[-1]["meta"]["seq"] if events else since, "buffer")
    reader = _durable_logs.get(topic)
    # Read before the log: every event numbered up to here is then in what the log says.
    latest = buffer.latest_seq(topic)
    if reader is None or since > latest:
        return None  # no log, or a seq from a clock that ran ahead of this one
    moment = seq_time(since) - LOG_CLOCK_MARGIN
    if moment < datetime.now(UTC) - LOG_MAX_AGE:
        return None
    events = reader(moment)
    if events is None:
        return None
    return Replay(events, latest, "event_log")

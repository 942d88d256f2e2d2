"""Per-topic sequence numbers and the buffer that ``resume`` replays from.

Every pushed event gets the next ``seq`` of its topic and is kept for at least
``REPLAY_MIN_SECONDS`` and the last ``REPLAY_MIN_EVENTS`` events, whichever
keeps more, up to ``OPSCONSOLE_REPLAY_MAX_EVENTS`` so a flood cannot exhaust
memory.

With ``REDIS_URL`` the counter and buffer live in Redis (a sorted set scored by
seq), so every web process numbers and replays the same stream; without it
they live in this process, which in the embedded shape is the only one.
"""

import json
import threading
import time
from collections import deque
from functools import lru_cache

import redis
from django.conf import settings

REPLAY_MIN_SECONDS = 300
REPLAY_MIN_EVENTS = 1000


def numbering_start():
    """Where a new numbering begins: the current time in milliseconds.

    A restarted process (or an emptied Redis) then numbers above every seq
    it handed out before, so a client resuming from an old seq is seen to
    have a gap and told to resync, instead of being given the new events as
    if they followed its old ones.
    """
    return int(time.time() * 1000)


def max_events():
    return settings.OPSCONSOLE_REPLAY_MAX_EVENTS


class MemoryReplayBuffer:
    def __init__(self):
        self._lock = threading.Lock()
        self._start = numbering_start()
        self._seq = {}
        self._events = {}

    def append(self, topic, event):
        """Number ``event`` (setting ``meta.seq``) and keep it; returns the seq."""
        with self._lock:
            seq = self._seq.get(topic, self._start) + 1
            self._seq[topic] = seq
            event["meta"]["seq"] = seq
            events = self._events.setdefault(topic, deque())
            events.append((time.monotonic(), event))
            cutoff = time.monotonic() - REPLAY_MIN_SECONDS
            while len(events) > max_events() or (
                len(events) > REPLAY_MIN_EVENTS and events[0][0] < cutoff
            ):
                events.popleft()
            return seq

    def latest_seq(self, topic):
        with self._lock:
            return self._seq.get(topic, self._start)

    def since(self, topic, seq):
        """Events after ``seq`` in order, or None when some of them are no longer kept
        (or ``seq`` is from before a restart that reset the numbering)."""
        with self._lock:
            events = self._events.get(topic, ())
            latest = self._seq.get(topic, self._start)
            if seq > latest:
                return None  # numbering restarted (a restarted server): the client must reload
            if seq == latest:
                return []
            oldest_kept = events[0][1]["meta"]["seq"] if events else latest + 1
            if seq + 1 < oldest_kept:
                return None
            return [event for _, event in events if event["meta"]["seq"] > seq]


# Numbering and storing in one script keeps seq order equal to buffer order
# even when several processes publish at once.
APPEND_SCRIPT = """
local now_ms = tonumber(ARGV[2])
redis.call('SET', KEYS[1], now_ms, 'NX')
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, now_ms .. '|' .. ARGV[1])
local count = redis.call('ZCARD', KEYS[2])
local cutoff = now_ms - tonumber(ARGV[3]) * 1000
while count > tonumber(ARGV[4]) do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  local at = tonumber(string.match(oldest, '^(%d+)|'))
  if count <= tonumber(ARGV[5]) and at >= cutoff then break end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, 0)
  count = count - 1
end
return seq
"""


class RedisReplayBuffer:
    def __init__(self, url, prefix):
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._append = self._redis.register_script(APPEND_SCRIPT)
        self._prefix = prefix

    def _keys(self, topic):
        return f"{self._prefix}:seq:{topic}", f"{self._prefix}:replay:{topic}"

    def append(self, topic, event):
        event["meta"].pop("seq", None)
        body = json.dumps(event, separators=(",", ":"))
        seq = int(
            self._append(
                keys=self._keys(topic),
                args=[body, int(time.time() * 1000), REPLAY_MIN_SECONDS, REPLAY_MIN_EVENTS, max_events()],
            )
        )
        event["meta"]["seq"] = seq
        return seq

    def latest_seq(self, topic):
        seq_key = self._keys(topic)[0]
        self._redis.set(seq_key, numbering_start(), nx=True)
        return int(self._redis.get(seq_key))

    def since(self, topic, seq):
        seq_key, replay_key = self._keys(topic)
        latest = self.latest_seq(topic)
        if seq > latest:
            return None  # numbering restarted (Redis lost its data): the client must reload
        if seq == latest:
            return []
        rows = self._redis.zrangebyscore(replay_key, seq + 1, "+inf", withscores=True)
        if not rows or int(rows[0][1]) != seq + 1:
            return None
        events = []
        for member, score in rows:
            event = json.loads(member.split(b"|", 1)[1])
            event["meta"]["seq"] = int(score)
            events.append(event)
        return events


@lru_cache(maxsize=1)
def replay_buffer():
    """The process's buffer, chosen by whether ``REDIS_URL`` is set."""
    if settings.REDIS_URL:
        return RedisReplayBuffer(settings.REDIS_URL, settings.OPSCONSOLE_REDIS_PREFIX)
    return MemoryReplayBuffer()

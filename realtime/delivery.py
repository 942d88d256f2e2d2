"""Pacing one socket: merging bursts into batches, limiting what a client may send.

No ORM and no I/O of its own: the consumer hands it frames and a send
function, so the broadcast path stays a few dictionary operations per socket.
"""

import asyncio
import time

from realtime.envelope import envelope

DEFAULT_INTERVAL_MS = 100
MAX_PENDING = 1_000  # frames a socket may owe before it is told to resync


class TooFarBehind(Exception):
    """The socket cannot keep up; it will be sent ``resync_required`` and closed."""


class Outbox:
    """Sends pushed events at most once per interval; events that arrive closer together go as one ``batch``.

    The first event after a quiet interval leaves at once; later ones wait
    for the end of the interval and leave together, in order.
    """

    def __init__(self, send, interval_ms=DEFAULT_INTERVAL_MS):
        self._send = send
        self.interval = interval_ms / 1000
        self._pending = []
        self._last_sent = 0.0
        self._flush_task = None

    async def push(self, frame):
        if len(self._pending) >= MAX_PENDING:
            raise TooFarBehind()
        self._pending.append(frame)
        if self._flush_task is not None:
            return
        wait = self._last_sent + self.interval - time.monotonic()
        if wait <= 0:
            await self.flush()
        else:
            self._flush_task = asyncio.get_running_loop().call_later(wait, self._schedule_flush)

    def _schedule_flush(self):
        self._flush_task = asyncio.ensure_future(self.flush())

    async def flush(self):
        pending, self._pending = self._pending, []
        self._flush_task = None
        if not pending:
            return
        self._last_sent = time.monotonic()
        if len(pending) == 1:
            await self._send(pending[0])
        else:
            await self._send(envelope("batch", {"messages": pending}, {"count": len(pending)}))

    def close(self):
        if self._flush_task is not None:
            self._flush_task.cancel()
            self._flush_task = None


class RateLimiter:
    """A token bucket: ``rate`` messages a second, bursts up to ``rate``."""

    def __init__(self, rate=20):
        self.rate = rate
        self.tokens = float(rate)
        self.updated = time.monotonic()

    def allow(self):
        """(True, 0) when a message may pass, else (False, milliseconds until one may)."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True, 0
        return False, max(1, round((1 - self.tokens) / self.rate * 1000))

"""Pacing one socket: merging bursts into batches, holding frames for a slow peer, limiting what a client may send.

No ORM and no I/O of its own: the consumer hands it frames and a send
function, so the broadcast path stays a few list operations per socket.
"""

import asyncio
import json
import logging
import time
from collections import OrderedDict

from django.conf import settings

from realtime.envelope import envelope

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 100
# A batch frame stays under this many bytes of events; daphne refuses to send
# frames over its 1 MiB message limit, and one huge frame would stall a reader.
MAX_BATCH_BYTES = 256 * 1024
_SIZES_KEPT = 4096
_sizes = OrderedDict()  # event id -> encoded size; each event is measured once, not once per socket


def max_pending():
    """Pushed events a socket may owe before it is told to resync (``OPSCONSOLE_WS_MAX_PENDING``)."""
    return settings.OPSCONSOLE_WS_MAX_PENDING


class TooFarBehind(Exception):
    """The socket cannot keep up; it will be sent ``resync_required`` and closed.

    ``dropped`` is how many events it will never get.
    """

    def __init__(self, dropped):
        super().__init__(f"{dropped} events dropped")
        self.dropped = dropped


def _seq(frame):
    return frame.get("meta", {}).get("seq")


def encoded_size(event):
    """Bytes of ``event`` as JSON (an upper bound for a filtered copy of it, which keeps its id)."""
    key = event.get("id")
    size = _sizes.get(key)
    if size is None:
        size = len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode())
        if key is not None:
            _sizes[key] = size
            if len(_sizes) > _SIZES_KEPT:
                _sizes.popitem(last=False)
    return size


def in_batches(events, limit=MAX_BATCH_BYTES):
    """``events`` cut, in order, into runs of at most ``limit`` bytes (a bigger event goes alone)."""
    batch, size = [], 0
    for event in events:
        event_size = encoded_size(event)
        if batch and size + event_size > limit:
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += event_size
    if batch:
        yield batch


class Outbox:
    """The pushed events on their way to one socket, in order, in a bounded queue.

    Events leave at most once per ``interval``: the first after a quiet
    interval at once, later ones together as one ``batch`` at the interval's
    end (several batches, in order, when they exceed ``MAX_BATCH_BYTES``). While the peer's send buffer is full (``flow.paused``, see
    :mod:`realtime.transport`) or a ``resume`` is replaying, they wait here;
    when more than ``max_pending()`` wait, :meth:`push` gives up on the socket
    with :class:`TooFarBehind` instead of letting its memory grow.
    """

    def __init__(self, send, interval_ms=DEFAULT_INTERVAL_MS, flow=None):
        self._send = send
        self.interval = interval_ms / 1000
        self._flow = flow
        self._pending = []
        self._last_sent = 0.0
        self._timer = None
        self._held = False
        self._covered_through = None  # seq a replay sent up to; later copies are dropped
        self._closed = False
        self._tasks = set()
        if flow is not None:
            flow.on_resume = self._wake

    @property
    def pending(self):
        return len(self._pending)

    @property
    def closed(self):
        return self._closed

    async def push(self, frame):
        """Queue ``frame`` and send what is due; raises TooFarBehind (once) when the queue is full."""
        if self._closed or self._already_replayed(frame):
            return
        if len(self._pending) >= max_pending():
            dropped = len(self._pending) + 1
            self.close()
            raise TooFarBehind(dropped)
        self._pending.append(frame)
        await self._send_if_due()

    async def flush(self):
        """Send whatever waits now, ignoring the interval (not a full send buffer or a hold)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._blocked():
            await self._send_pending()

    def hold(self):
        """Keep pushed events back until :meth:`release` (while a replay goes out first)."""
        self._held = True

    async def release(self, covered_through):
        """Let held events go, without any a replay up to seq ``covered_through`` already sent.

        Events of that seq or below still on their way to this socket (queued
        in the channel layer) are dropped when they arrive.
        """
        self._held = False
        self._covered_through = covered_through
        self._pending = [frame for frame in self._pending if not self._already_replayed(frame)]
        await self._send_if_due()

    def _already_replayed(self, frame):
        seq = _seq(frame)
        return self._covered_through is not None and seq is not None and seq <= self._covered_through

    def close(self):
        self._closed = True
        self._pending = []
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flow is not None:
            self._flow.on_resume = None
        for task in self._tasks:
            task.cancel()

    def _blocked(self):
        return self._held or self._closed or (self._flow is not None and self._flow.paused)

    async def _send_if_due(self):
        if self._timer is not None or self._blocked() or not self._pending:
            return
        wait = self._last_sent + self.interval - time.monotonic()
        if wait <= 0:
            await self._send_pending()
        else:
            self._timer = asyncio.get_running_loop().call_later(wait, self._on_timer)

    def _on_timer(self):
        self._timer = None
        self._spawn(self._send_if_due())

    def _wake(self):
        # Twisted drained the send buffer (same thread and loop as the consumer).
        if not self._closed and self._pending:
            self._spawn(self._send_if_due())

    def _spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_pending(self):
        pending, self._pending = self._pending, []
        if not pending:
            return
        self._last_sent = time.monotonic()
        for batch in in_batches(pending):
            if len(batch) == 1:
                await self._send(batch[0])
            else:
                await self._send(envelope("batch", {"messages": batch}, {"count": len(batch)}))


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

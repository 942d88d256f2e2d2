"""Pacing one socket: merging bursts into batches, holding frames for a slow peer, limiting what a client may send.

No ORM and no I/O of its own: the consumer hands it events and a send
function, which it calls with frames encoded once per process
(:mod:`realtime.frames`), so the broadcast path stays a few list
operations per socket.
"""

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from django.conf import settings

from opsconsole.telemetry import DeliveryTally
from realtime.envelope import Envelope
from realtime.frames import Frame, batch_frame, event_frame, in_batches

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 100
# A batch frame stays under this many bytes of events: well under the 1 MiB
# clients accept by default (protocol.MAX_SERVER_FRAME_BYTES), and one huge
# frame would stall a reader.
MAX_BATCH_BYTES = 256 * 1024
# A frame may leave this share of the interval early. Events published at
# just the client's rate arrive a few ms early or late; held to the full
# interval, each early one waits, goes out late, makes the next one earlier
# still, and the socket locks onto sending at the interval's end: every
# event then waits half an interval on average. The slack is a tolerance on
# a schedule (the generic cell rate algorithm), not a shorter interval:
# under steady pressure frames still leave once per interval.
INTERVAL_SLACK = 0.1


class SendFrame(Protocol):
    """How an outbox hands a frame to its socket (the consumer's ``send_frame``)."""

    def __call__(self, frame: Frame, /) -> Awaitable[None]: ...


class Flow(Protocol):
    """What an outbox reads of its peer's send buffer (:class:`realtime.transport.WriteFlow`)."""

    paused: bool
    on_resume: Callable[[], None] | None


def max_pending() -> int:
    """Pushed events a socket may owe before it is told to resync (``OPSCONSOLE_WS_MAX_PENDING``)."""
    return int(settings.OPSCONSOLE_WS_MAX_PENDING)


class TooFarBehind(Exception):
    """The socket cannot keep up; it will be sent ``resync_required`` and closed.

    ``dropped`` is how many events it will never get.
    """

    def __init__(self, dropped: int) -> None:
        super().__init__(f"{dropped} events dropped")
        self.dropped = dropped


def _seq(event: Envelope) -> int | None:
    seq = event.get("meta", {}).get("seq")
    return None if seq is None else int(seq)


class _Ticker:
    """Wakes the outboxes due at about the same moment with one timer and one task between them.

    Sockets that were sent the same event together fall due together, an
    interval later; a timer and a task each (10,000 a second with 1,000
    sockets at the default interval) cost more than the sends they started.
    Due times are rounded up to ``GRAIN``, so an outbox is never woken early.
    """

    GRAIN = 0.005

    def __init__(self) -> None:
        self._due: dict[Tick, list[Outbox]] = {}  # outboxes to wake at each tick

    def wake_after(self, outbox: "Outbox", delay: float) -> "Tick":
        """Call ``outbox._on_timer(token)`` ``delay`` seconds from now or just after; returns the token."""
        loop = asyncio.get_running_loop()
        key = (loop, math.ceil((loop.time() + delay) / self.GRAIN))
        waiting = self._due.get(key)
        if waiting is None:
            waiting = self._due[key] = []
            loop.call_at(key[1] * self.GRAIN, self._fire, key)
        waiting.append(outbox)
        return key

    def _fire(self, key: "Tick") -> None:
        waiting = self._due.pop(key)
        task = asyncio.ensure_future(self._wake(key, waiting))
        _background.add(task)
        task.add_done_callback(_background.discard)

    @staticmethod
    async def _wake(key: "Tick", waiting: list["Outbox"]) -> None:
        for outbox in waiting:
            try:
                await outbox._on_timer(key)
            except Exception:
                logger.exception("Could not send a socket's queued events")


Tick = tuple[asyncio.AbstractEventLoop, int]
_background: set[asyncio.Future[None]] = set()
_ticker = _Ticker()


class Outbox:
    """The pushed events on their way to one socket, in order, in a bounded queue.

    Events leave at most once per ``interval`` on average, a frame at most
    ``INTERVAL_SLACK`` of it early (a jitter tolerance): one
    that finds nothing sent for that long goes at once, alone; those that
    come sooner, or while a frame is being written, wait together and leave
    as one ``batch`` when the interval since the last frame is up (several
    batches, in order, when they exceed ``MAX_BATCH_BYTES``). While the peer's send buffer is
    full (``flow.paused``, see
    :mod:`realtime.transport`) or a ``resume`` is replaying, they wait here;
    when more than ``max_pending()`` wait, :meth:`offer` gives up on the socket
    with :class:`TooFarBehind` instead of letting its memory grow.
    """

    def __init__(
        self,
        send: SendFrame,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        flow: Flow | None = None,
        tally: DeliveryTally | None = None,
    ) -> None:
        self._send = send
        self._tally = tally  # what counts the events handed over, for GET /metrics
        self.interval = interval_ms / 1000
        self._flow = flow
        self._limit = max_pending()
        self._pending: list[Envelope] = []
        self._next_due = 0.0  # when the next frame is due on the once-per-interval schedule
        self._timer: Tick | None = None
        self._held = False
        self._covered_through: int | None = None  # seq a replay sent up to; later copies are dropped
        self.closed = False
        self._tasks: set[asyncio.Future[None]] = set()
        if flow is not None:
            flow.on_resume = self._wake

    @property
    def pending(self) -> int:
        return len(self._pending)

    def offer(self, frame: Envelope) -> Coroutine[Any, Any, None] | None:
        """Queue ``frame``; returns the sending to await when some is due now, else None.

        Synchronous, so that the common case on the broadcast path (the event
        waits for the interval's end) costs no coroutine per socket. Raises
        TooFarBehind (once) when the queue is full.
        """
        if self.closed or self._already_replayed(frame):
            return None
        if len(self._pending) >= self._limit:
            dropped = len(self._pending) + 1
            self.close()
            raise TooFarBehind(dropped)
        self._pending.append(frame)
        return self._due_now()

    async def flush(self) -> None:
        """Send whatever waits now, ignoring the interval (not a full send buffer or a hold)."""
        self._timer = None
        if not self._blocked():
            await self._send_pending()

    def hold(self) -> None:
        """Keep pushed events back until :meth:`release` (while a replay goes out first)."""
        self._held = True

    async def release(self, covered_through: int | None) -> None:
        """Let held events go, without any a replay up to seq ``covered_through`` already sent.

        Events of that seq or below still on their way to this socket (queued
        in the channel layer) are dropped when they arrive.
        """
        self._held = False
        self._covered_through = covered_through
        self._pending = [frame for frame in self._pending if not self._already_replayed(frame)]
        await self._send_if_due()

    def _already_replayed(self, frame: Envelope) -> bool:
        if self._covered_through is None:
            return False  # no replay yet: the broadcast path's usual case
        seq = _seq(frame)
        return seq is not None and seq <= self._covered_through

    def close(self) -> None:
        self.closed = True
        self._pending = []
        self._timer = None
        if self._flow is not None:
            self._flow.on_resume = None
        for task in self._tasks:
            task.cancel()

    def _blocked(self) -> bool:
        return self._held or self.closed or (self._flow is not None and self._flow.paused)

    def _due_now(self) -> Coroutine[Any, Any, None] | None:
        """The sending to await if the queue may go now; otherwise a wake-up is set for when it may."""
        if self._timer is not None or self._blocked() or not self._pending:
            return None
        wait = self._next_due - self.interval * INTERVAL_SLACK - time.monotonic()
        if wait <= 0:
            return self._send_pending()
        self._timer = _ticker.wake_after(self, wait)
        return None

    async def _send_if_due(self) -> None:
        sending = self._due_now()
        if sending is not None:
            await sending

    async def _on_timer(self, token: Tick) -> None:
        if token != self._timer:
            return  # flushed or closed since; a later wake-up, if any, is its own
        self._timer = None
        await self._send_if_due()

    def _wake(self) -> None:
        # Twisted drained the send buffer (same thread and loop as the consumer).
        if not self.closed and self._pending:
            self._spawn(self._send_if_due())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_pending(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        self._next_due = max(self._next_due, time.monotonic()) + self.interval
        handed_over = time.time()
        frames = [event_frame(event) for event in pending]
        for run in in_batches(frames, MAX_BATCH_BYTES):
            await self._send(run[0] if len(run) == 1 else batch_frame(run))
        if self._tally is not None:
            self._tally.record(frames, handed_over)


class RateLimiter:
    """A token bucket: ``rate`` messages a second, bursts up to ``rate``."""

    def __init__(self, rate: int = 20) -> None:
        self.rate = rate
        self.tokens = float(rate)
        self.updated = time.monotonic()

    def allow(self) -> tuple[bool, int]:
        """(True, 0) when a message may pass, else (False, milliseconds until one may)."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True, 0
        return False, max(1, round((1 - self.tokens) / self.rate * 1000))

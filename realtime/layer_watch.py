"""Telling a process's sockets that the channel layer is gone.

channels-redis's pub/sub layer reconnects by itself but says nothing: while
Redis is away a socket simply stops hearing events, and what is published
meanwhile never reaches it. So each web process with sockets writes a small
expiring key to Redis every ``WATCH_INTERVAL_SECONDS`` (a write, not a PING:
a full Redis, or one under ``CLIENT PAUSE WRITE``, answers PING but refuses
the buffer writes and PUBLISHes the stream needs); when the write fails,
every socket of the process is sent ``SERVICE_UNAVAILABLE`` and closed with
4503. Clients reconnect with backoff and ``resume``; once Redis takes writes
again, the relay catches up from the database and resumes are answered from it.

The write is made from a thread of its own with a plain (blocking) client,
not on the event loop: a loop running seconds behind under thousands of
sockets would otherwise see its own lag as Redis's silence and close every
socket of a healthy process. In that thread a timeout means Redis did not
answer for ``PING_TIMEOUT_SECONDS`` of wall time; even so it takes
``TIMEOUTS_BEFORE_OUTAGE`` of them in a row, while an error Redis or the
network returns (refused, reset, out of memory) is an outage at once.

It also reads the streams' degraded mark (``realtime.relay``), which any
process's relay sets in the database when Redis refused one of its events:
the sockets of a degraded topic are closed the same way, and handshakes on it
are refused until the relay has caught up. And it starts a relay pass
(``realtime.relay.catch_up_soon``) whenever a stream is degraded or events
wait too long, so delivery resumes without waiting for the Celery worker.

The layer's own connection state is then thrown away too. Its bookkeeping
does not survive an outage: an unsubscribe that failed while Redis was away
stays recorded as a subscription, so a later ``group_add`` of the same group
never subscribes again and its sockets hear nothing. With every socket of the
process closed and handshakes refused until Redis answers, a fresh layer
loses nothing.

The in-memory layer of the embedded shape cannot fail apart from the process,
so nothing is watched there.
"""

import asyncio
import logging
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import redis
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from realtime import fanout
from realtime.relay import catch_up_soon, degraded_streams, stalled
from realtime.replay import BUFFER_ERRORS

logger = logging.getLogger(__name__)

WATCH_INTERVAL_SECONDS = 1.0
PING_TIMEOUT_SECONDS = 2.0
TIMEOUTS_BEFORE_OUTAGE = 2  # a timeout alone may be the host's hiccup; an error is Redis's answer
RESET_TIMEOUT_SECONDS = 5.0  # a layer waiting on a partitioned Redis must not hold the watch
RECONNECT_AFTER_MS = 2000  # what sockets are told to wait before reconnecting
STREAM_DEGRADED = (
    "The console's message broker refuses writes, so events cannot be pushed; reconnect in a few seconds and resume."
)


class LayerWatcher(Protocol):
    """A socket as the watch sees it (the consumer)."""

    topic: str

    async def layer_lost(self, message: str = ...) -> None: ...


_sockets: "weakref.WeakSet[LayerWatcher]" = weakref.WeakSet()
_watcher: asyncio.Task[None] | None = None
_probe_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="layer-watch")
_probe_clients: dict[str, redis.Redis] = {}  # by URL, used only in _probe_thread


def watch(consumer: LayerWatcher) -> None:
    """Have ``consumer.layer_lost()`` awaited if the layer goes away while it is open."""
    global _watcher
    if not settings.REDIS_URL:
        return
    _sockets.add(consumer)
    # A task of another (closed) event loop will never run: tests open many loops.
    if _watcher is None or _watcher.done() or _watcher.get_loop() is not asyncio.get_running_loop():
        _watcher = asyncio.get_running_loop().create_task(_watch_forever(), name="channel-layer-watch")


def unwatch(consumer: LayerWatcher) -> None:
    _sockets.discard(consumer)


def _stream_health() -> tuple[dict[str, str], bool]:
    """Degraded streams, and whether events wait, read off the request thread.

    Django's views share one thread (thread-sensitive): during a database
    outage each read here waits for the pool's timeout, which would hold
    every request behind it.
    """
    close_old_connections()
    try:
        return degraded_streams(), stalled()
    finally:
        connection.close()


def _write_probe(url: str, key: str) -> None:
    """Write the watch's expiring key; runs in ``_probe_thread``, where the loop's lag cannot delay it."""
    client = _probe_clients.get(url)
    if client is None:
        client = _probe_clients[url] = redis.Redis.from_url(
            url, socket_timeout=PING_TIMEOUT_SECONDS, socket_connect_timeout=PING_TIMEOUT_SECONDS
        )
    client.set(key, "1", px=int(WATCH_INTERVAL_SECONDS * 5000))


async def _watch_forever() -> None:
    loop = asyncio.get_running_loop()
    url = str(settings.REDIS_URL)
    probe_key = f"{settings.OPSCONSOLE_REDIS_PREFIX}:layer-watch"
    timeouts = 0
    while _sockets:
        await asyncio.sleep(WATCH_INTERVAL_SECONDS)
        try:
            await loop.run_in_executor(_probe_thread, _write_probe, url, probe_key)
            timeouts = 0
        except BUFFER_ERRORS as error:
            timeouts = timeouts + 1 if isinstance(error, redis.TimeoutError) else TIMEOUTS_BEFORE_OUTAGE
            if timeouts < TIMEOUTS_BEFORE_OUTAGE:
                logger.info("Redis did not answer the layer watch in time (%s); asking again", error)
                continue
            timeouts = 0
            lost = list(_sockets)
            logger.warning("Redis refuses writes (%s); closing %d sockets so they reconnect", error, len(lost))
            _sockets.clear()
            fanout.forget_all()  # a socket that connects from now on subscribes afresh, or is refused
            await _tell(lost)
            await _reset_layer()
            continue
        try:
            degraded, waiting = await sync_to_async(_stream_health, thread_sensitive=False)()
            if degraded or waiting:
                catch_up_soon()  # in a thread: events a dead process left, or Redis taking writes again
        except DatabaseError as error:  # the database's own outage is told by the handlers that need it
            logger.info("Could not read the streams' health: %s", error)
            continue
        if degraded:
            lost = [consumer for consumer in list(_sockets) if consumer.topic in degraded]
            for consumer in lost:
                _sockets.discard(consumer)
            if lost:
                logger.warning("Streams degraded (%s); closing %d sockets", degraded, len(lost))
                await _tell(lost, STREAM_DEGRADED)


async def _tell(lost: list[LayerWatcher], *message: str) -> None:
    outcomes = await asyncio.gather(*(consumer.layer_lost(*message) for consumer in lost), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            logger.error("Could not tell a socket the layer is gone", exc_info=outcome)


async def _reset_layer() -> None:
    try:
        await asyncio.wait_for(get_channel_layer().flush(), RESET_TIMEOUT_SECONDS)
    except Exception:
        logger.exception("Could not reset the channel layer after losing Redis")

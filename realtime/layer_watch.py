"""Telling a process's sockets that the channel layer is gone.

channels-redis's pub/sub layer reconnects by itself but says nothing: while
Redis is away a socket simply stops hearing events, and what is published
meanwhile never reaches it. So each web process with sockets pings Redis
every ``WATCH_INTERVAL_SECONDS``; when it does not answer, every socket of the
process is sent ``SERVICE_UNAVAILABLE`` and closed with 4503. Clients
reconnect with backoff and ``resume``; once Redis is back,
the event log in the database answers for what they missed.

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
from typing import Protocol

import redis.asyncio
from channels.layers import get_channel_layer
from django.conf import settings

from realtime import fanout
from realtime.replay import BUFFER_ERRORS

logger = logging.getLogger(__name__)

WATCH_INTERVAL_SECONDS = 1.0
PING_TIMEOUT_SECONDS = 2.0
RESET_TIMEOUT_SECONDS = 5.0  # a layer waiting on a partitioned Redis must not hold the watch
RECONNECT_AFTER_MS = 2000  # what sockets are told to wait before reconnecting


class LayerWatcher(Protocol):
    """A socket as the watch sees it (the consumer)."""

    async def layer_lost(self) -> None: ...


_sockets: "weakref.WeakSet[LayerWatcher]" = weakref.WeakSet()
_watcher: asyncio.Task[None] | None = None


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


async def _watch_forever() -> None:
    client = redis.asyncio.Redis.from_url(
        str(settings.REDIS_URL), socket_timeout=PING_TIMEOUT_SECONDS, socket_connect_timeout=PING_TIMEOUT_SECONDS
    )
    try:
        while _sockets:
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)
            try:
                await client.ping()
            except BUFFER_ERRORS as error:
                lost = list(_sockets)
                logger.warning("Redis does not answer (%s); closing %d sockets so they reconnect", error, len(lost))
                _sockets.clear()
                fanout.forget_all()  # a socket that connects from now on subscribes afresh, or is refused
                outcomes = await asyncio.gather(*(consumer.layer_lost() for consumer in lost), return_exceptions=True)
                for outcome in outcomes:
                    if isinstance(outcome, Exception):
                        logger.error("Could not tell a socket the layer is gone", exc_info=outcome)
                await _reset_layer()
    finally:
        await client.aclose()


async def _reset_layer() -> None:
    try:
        await asyncio.wait_for(get_channel_layer().flush(), RESET_TIMEOUT_SECONDS)
    except Exception:
        logger.exception("Could not reset the channel layer after losing Redis")

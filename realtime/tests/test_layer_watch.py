"""The Redis watch: a busy event loop is not an outage, a stopped Redis is (issue 22).

The first test runs the real consumer on the real Redis layer and blocks its
event loop for longer than the watch's timeout, again and again: Redis
answers all along, so no socket may be told the layer is gone. The second
stops a private Redis under the watch and expects it to be said.
"""

import asyncio
import time

import pytest
import redis

from realtime import layer_watch
from realtime.tests.sockets import ask, connect
from tests.faults.servers import private_redis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.timeout(120)]

BUSY_SECONDS = layer_watch.PING_TIMEOUT_SECONDS + 0.5  # each stretch the loop does nothing else


async def saturate_loop(seconds: float) -> None:
    """Hold the event loop for ``BUSY_SECONDS`` at a time, letting one turn of it run between stretches."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(BUSY_SECONDS)  # blocking the loop is the point
        await asyncio.sleep(0)


async def test_a_loop_busy_longer_than_the_ping_timeout_closes_no_socket_while_redis_answers(caplog):
    socket, _ = await connect()
    await saturate_loop(4 * BUSY_SECONDS)
    await asyncio.sleep(2 * layer_watch.WATCH_INTERVAL_SECONDS)  # the watch's answers from the busy stretch land
    assert await socket.receive_nothing(timeout=0.5), "the socket was sent something: told the layer is gone?"
    assert (await ask(socket, {"type": "ping"}))["type"] == "pong"
    assert "Redis refuses writes" not in caplog.text
    await socket.disconnect()


class Watcher:
    """A socket as the watch sees it, recording when it is told."""

    topic = "alerts"

    def __init__(self) -> None:
        self.told_at: float | None = None

    async def layer_lost(self, message: str = "") -> None:
        self.told_at = time.monotonic()


async def test_a_stopped_redis_is_still_said_within_a_few_seconds(settings):
    with private_redis() as server:
        settings.REDIS_URL = server.url
        watcher = Watcher()
        layer_watch.watch(watcher)
        await asyncio.sleep(3 * layer_watch.WATCH_INTERVAL_SECONDS)
        assert watcher.told_at is None, "told while Redis answered"
        server.kill()
        stopped_at = time.monotonic()
        deadline = stopped_at + 10
        while watcher.told_at is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert watcher.told_at is not None, "a stopped Redis was not said"
        assert watcher.told_at - stopped_at < 2 * layer_watch.WATCH_INTERVAL_SECONDS + 1


async def wait_told(watcher: Watcher, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while watcher.told_at is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def test_one_timeout_is_not_an_outage_but_timeouts_in_a_row_are(settings):
    with private_redis() as server:
        settings.REDIS_URL = server.url
        admin = redis.Redis.from_url(server.url)
        watcher = Watcher()
        layer_watch.watch(watcher)
        await asyncio.sleep(2 * layer_watch.WATCH_INTERVAL_SECONDS)
        # Writes stall a little longer than the timeout: one probe (almost surely) times out, the next is answered.
        brief_ms = int((layer_watch.PING_TIMEOUT_SECONDS + 0.9) * 1000)
        admin.execute_command("CLIENT", "PAUSE", str(brief_ms), "WRITE")
        await wait_told(watcher, brief_ms / 1000 + 3 * layer_watch.WATCH_INTERVAL_SECONDS)
        assert watcher.told_at is None, "a single timeout was taken for an outage"
        paused_at = time.monotonic()
        admin.execute_command("CLIENT", "PAUSE", "12000", "WRITE")
        try:
            await wait_told(watcher, 11)
        finally:
            admin.execute_command("CLIENT", "UNPAUSE")
        assert watcher.told_at is not None, "writes stalled for 11 s were not said"
        each = layer_watch.PING_TIMEOUT_SECONDS + layer_watch.WATCH_INTERVAL_SECONDS
        assert watcher.told_at - paused_at < layer_watch.TIMEOUTS_BEFORE_OUTAGE * each + 1

"""Counters of sockets and frames, summed over every web process.

Each process counts for itself; with ``REDIS_URL`` it also writes its counts
to a Redis hash of its own that expires unless refreshed, so a crashed
process drops out of the totals within ``REPORT_TTL_SECONDS`` instead of
haunting them forever.
"""

import asyncio
import logging
import os
import socket
import threading
from collections import Counter
from functools import lru_cache

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

COUNTERS = ("connected_sockets", "messages_in", "messages_out", "dropped")
REPORT_INTERVAL_SECONDS = 5
REPORT_TTL_SECONDS = 20
REPORT_SOON_SECONDS = 0.1

_lock = threading.Lock()
_local: Counter[str] = Counter(dict.fromkeys(COUNTERS, 0))
_reporter: asyncio.Task[None] | None = None
_soon: asyncio.Task[None] | None = None


def count(name: str, amount: int = 1) -> None:
    with _lock:
        _local[name] += amount


def local_counts() -> dict[str, int]:
    with _lock:
        return {name: _local[name] for name in COUNTERS}


@lru_cache(maxsize=1)
def _redis() -> redis.Redis:
    return redis.Redis.from_url(str(settings.REDIS_URL), socket_timeout=2, socket_connect_timeout=2)


def _key_prefix() -> str:
    return f"{settings.OPSCONSOLE_REDIS_PREFIX}:socketstats:"


def report() -> None:
    """Write this process's counts to Redis (no-op without it)."""
    if not settings.REDIS_URL:
        return
    key = f"{_key_prefix()}{socket.gethostname()}:{os.getpid()}"
    pipe = _redis().pipeline()
    pipe.hset(key, mapping=local_counts())  # type: ignore[arg-type]  # Mapping's key type is invariant
    pipe.expire(key, REPORT_TTL_SECONDS)
    pipe.execute()


async def _report_forever() -> None:
    while True:
        try:
            await asyncio.to_thread(report)
        except redis.RedisError as error:
            logger.warning("Could not report socket counts: %s", error)
        await asyncio.sleep(REPORT_INTERVAL_SECONDS)


def _running_here(task: "asyncio.Task[None] | None") -> bool:
    # A task of another (closed) event loop will never run: tests open many loops.
    return task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop()


async def _report_shortly() -> None:
    global _soon
    await asyncio.sleep(REPORT_SOON_SECONDS)  # one report for a burst of connects
    _soon = None  # a change from here on asks for another report
    try:
        await asyncio.to_thread(report)
    except redis.RedisError as error:
        logger.warning("Could not report socket counts: %s", error)


def report_soon() -> None:
    """Report within a moment (a socket came or went), so totals follow connects without waiting a full period."""
    global _soon
    if settings.REDIS_URL and not _running_here(_soon):
        _soon = asyncio.get_running_loop().create_task(_report_shortly(), name="socket-stats-soon")


def ensure_reporting() -> None:
    """Start the periodic report in this process's event loop, once."""
    global _reporter
    if settings.REDIS_URL and not _running_here(_reporter):
        _reporter = asyncio.get_running_loop().create_task(_report_forever(), name="socket-stats")


def connection_stats() -> dict[str, int]:
    """Totals over every live web process: connected sockets, frames in and out, drops."""
    if not settings.REDIS_URL:
        return local_counts()
    totals: Counter[str] = Counter(dict.fromkeys(COUNTERS, 0))
    client = _redis()
    for key in client.scan_iter(match=f"{_key_prefix()}*", count=100):
        for name, value in client.hgetall(key).items():
            totals[name.decode() if isinstance(name, bytes) else name] += int(value)
    return {name: totals[name] for name in COUNTERS}

"""The probes: ``/livez`` (the process is up) and ``/readyz`` (the console can do its work).

``/readyz`` asks the database (and, on SQLite, whether its disk has room to
write), round-trips a message through the channel layer, reads whether Redis
refused an event of the live stream (``realtime.relay``) and, in the services
shape, reads the heartbeats of the Celery worker and of beat
(``realtime/heartbeat.py``): without them rules, notifications and pushes stop
while pages still load. It answers 200, or 503 with
``{"status": "unavailable", "missing": [...]}`` naming what is missing.
``/healthz`` is the same answer under its older name.

:class:`ProbeMiddleware` answers the three paths before any middleware that
checks the ``Host`` header, and ``SECURE_REDIRECT_EXEMPT`` keeps them off the
HTTPS redirect: a probe comes from inside the container or from a load
balancer that knows the process by its address, over plain HTTP, and must
work with ``ALLOWED_HOSTS=ops.example.com`` and ``OPSCONSOLE_HTTPS=1``. That
is safe because a probe's answer builds no URL from the ``Host`` header (what
``ALLOWED_HOSTS`` protects against) and sets no cookie.
"""

import asyncio
import shutil
import time
import uuid
from pathlib import Path

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.http import JsonResponse

from realtime.heartbeat import ROLES, heartbeat_problem
from realtime.relay import catch_up_soon, degraded_streams

CHECK_TIMEOUT_SECONDS = 2.0
# Below this much free space SQLite's next write-ahead-log growth or
# checkpoint fails; the embedded console is not ready once writes may fail.
SQLITE_MIN_FREE_BYTES = 1024 * 1024


class NotReady(Exception):
    """A check's answer: what is wrong, in one line."""


def _database_answers():
    # The check runs on whichever executor thread is free: it gives its
    # connection back (to the pool, on Postgres) rather than leave one held by
    # each thread, and a connection a database restart broke goes with it.
    close_old_connections()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()
    if connection.vendor == "sqlite":
        # A full disk still answers reads: what fails is every write.
        directory = Path(settings.DATABASES["default"]["NAME"]).parent
        free = shutil.disk_usage(directory).free
        if free < SQLITE_MIN_FREE_BYTES:
            raise NotReady(f"{free} bytes free on the disk of {directory}; SQLite writes fail")


_probe_channel = None


async def _channel_layer_answers():
    # A round trip through the layer, not just a connection: what the console
    # needs from it is that a sent message comes back. One probe channel per
    # process, so frequent probes do not pile up subscriptions in Redis.
    global _probe_channel
    layer = get_channel_layer()
    if _probe_channel is None:
        _probe_channel = await layer.new_channel("healthz.")
    marker = uuid.uuid4().hex
    await layer.send(_probe_channel, {"type": "healthz.probe", "marker": marker})
    while (await layer.receive(_probe_channel)).get("marker") != marker:
        pass  # an answer to an earlier probe that timed out


async def _channel_layer_check():
    global _probe_channel
    result = await _check(_channel_layer_answers())
    if result["status"] != "ok":
        # The probe channel may be one the layer has forgotten (it is reset when
        # Redis is lost): the next check subscribes a fresh one before sending.
        _probe_channel = None
    return result


def _stream_healthy():
    # Marked by whichever process's relay Redis refused (realtime.relay), in
    # the database: a Redis that is full or write-paused still answers the
    # layer round trip above, while no event reaches a socket.
    close_old_connections()
    try:
        degraded = degraded_streams()
    except DatabaseError:
        return  # unknown while the database is away, which its own check reports
    finally:
        connection.close()
    if degraded:
        catch_up_soon()  # the next probe says whether Redis takes writes again
        raise NotReady("; ".join(f"{topic} stream {reason}" for topic, reason in sorted(degraded.items())))


def _heartbeat_fresh(role):
    problem = heartbeat_problem(role)
    if problem:
        raise NotReady(problem)


async def _check(coroutine):
    started = time.monotonic()
    try:
        await asyncio.wait_for(coroutine, CHECK_TIMEOUT_SECONDS)
    except NotReady as problem:
        return {"status": "fail", "error": str(problem)}
    except Exception as error:  # noqa: BLE001 - any failure is the answer
        reason = str(error) or type(error).__name__
        return {"status": "fail", "error": f"{type(error).__name__}: {reason}"[:300]}
    return {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}


def _in_thread(function, *args):
    return sync_to_async(function, thread_sensitive=False)(*args)


async def readiness():
    """Every check by name, each ``{"status": "ok", "ms": ...}`` or ``{"status": "fail", "error": ...}``."""
    checks = {
        "database": _check(_in_thread(_database_answers)),
        "channel_layer": _channel_layer_check(),
        "stream": _check(_in_thread(_stream_healthy)),
    }
    if settings.REDIS_URL:  # the services shape: jobs run in Celery, not in this process
        checks.update({role: _check(_in_thread(_heartbeat_fresh, role)) for role in ROLES})
    results = await asyncio.gather(*checks.values())
    return dict(zip(checks, results, strict=True))


async def readyz(request):
    checks = await readiness()
    missing = [name for name, check in checks.items() if check["status"] != "ok"]
    body = {"status": "unavailable" if missing else "ok", "missing": missing, "checks": checks}
    return JsonResponse(body, status=503 if missing else 200)


async def livez(request):
    # No dependency on purpose: a restart cures none of the things readiness checks.
    return JsonResponse({"status": "ok"})


PROBES = {"/livez": livez, "/readyz": readyz, "/healthz": readyz}


class ProbeMiddleware:
    """Answers ``GET``/``HEAD`` of the probe paths before the ``Host`` header is looked at (see the module)."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBES.get(request.path_info)
        if probe is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        return async_to_sync(probe)(request)

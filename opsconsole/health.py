"""``/healthz``: does this process reach its database and its channel layer?"""

import asyncio
import time
import uuid

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import close_old_connections, connection
from django.http import JsonResponse

CHECK_TIMEOUT_SECONDS = 2.0


def _database_answers():
    # This executor thread keeps its connection between checks; one that a
    # database restart broke must be dropped, or every later check fails on it.
    close_old_connections()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


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


async def _check(coroutine):
    started = time.monotonic()
    try:
        await asyncio.wait_for(coroutine, CHECK_TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001 - any failure is the answer
        reason = str(error) or type(error).__name__
        return {"status": "fail", "error": f"{type(error).__name__}: {reason}"[:300]}
    return {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}


async def healthz(request):
    checks = {
        "database": await _check(sync_to_async(_database_answers, thread_sensitive=False)()),
        "channel_layer": await _channel_layer_check(),
    }
    healthy = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503)

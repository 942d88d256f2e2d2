"""A socket that stops reading does not hold up the others (real daphne, real sockets, Redis)."""

import asyncio
import json
import time
from datetime import datetime

import websockets

from tests.live import run_coroutine, running_console

EVENTS = 300
PUBLISH = f"""
from realtime.publish import publish
for n in range({EVENTS}):
    publish("alerts", "alert_summary", {{"n": n, "padding": "x" * 20000}})
"""


def p95(values):
    ordered = sorted(values)
    return ordered[int(len(ordered) * 0.95)]


async def fast_reader_delays(console, with_slow_reader):
    """Publish-to-arrival delays seen by a reading socket, with or without a stalled neighbour."""
    url = console.url.replace("http", "ws") + "/ws/alerts"
    headers = {"Authorization": f"Token {console.token}"}
    slow = None
    if with_slow_reader:
        # max_queue=1: the client stops reading the socket at once, so the server must buffer for it.
        slow = await websockets.connect(url, additional_headers=headers, max_queue=1)
    fast = await websockets.connect(url, additional_headers=headers, max_size=2**24)
    await fast.recv()  # connection
    publisher = asyncio.create_task(asyncio.to_thread(console.manage, "shell", "--no-imports", "-c", PUBLISH, timeout=120))
    delays = []
    while len(delays) < EVENTS:
        frame = json.loads(await asyncio.wait_for(fast.recv(), 30))
        arrived = time.time()
        for message in frame["data"]["messages"] if frame["type"] == "batch" else [frame]:
            if message["type"] == "alert_summary":
                published = datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00")).timestamp()
                delays.append(arrived - published)
    await publisher
    await fast.close()
    if slow is not None:
        slow.transport.abort()
    return delays


def test_a_slow_reader_does_not_delay_a_fast_reader_by_more_than_50_ms():
    with running_console("services", extra_env={"OPSCONSOLE_SUMMARY_INTERVAL": "3600"}) as console:
        alone = run_coroutine(fast_reader_delays(console, with_slow_reader=False))
        beside_slow = run_coroutine(fast_reader_delays(console, with_slow_reader=True))
    print(f"fast reader p95: {p95(alone) * 1000:.1f} ms alone, {p95(beside_slow) * 1000:.1f} ms beside a stalled reader")
    assert p95(beside_slow) - p95(alone) < 0.05

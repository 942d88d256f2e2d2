"""When an outbox sends: a lone event at once, bursts merged in order and no faster than the interval (issue 22).

The outbox is driven as the fan-out drives it (``offer``, awaiting what it
returns) on a real event loop and clock, with a send that records when each
frame left and what it held.
"""

import asyncio
import json
import random
import statistics
import time

from realtime.delivery import INTERVAL_SLACK, Outbox
from realtime.envelope import envelope

INTERVAL_MS = 100
MIN_GAP = INTERVAL_MS / 1000 * (1 - INTERVAL_SLACK)


class Recorder:
    def __init__(self) -> None:
        self.frames: list[tuple[float, list[int]]] = []  # (monotonic time sent, the events' n in order)

    async def send(self, frame) -> None:
        message = json.loads(frame.text)
        members = message["data"]["messages"] if message["type"] == "batch" else [message]
        self.frames.append((time.monotonic(), [member["data"]["n"] for member in members]))

    def sent_at(self, n: int) -> float:
        return next(at for at, numbers in self.frames if n in numbers)


async def offer_at(outbox: Outbox, offsets: list[float]) -> list[float]:
    """Offer event ``n`` at ``offsets[n]`` seconds from now; returns when each was offered."""
    start = time.monotonic()
    offered = []
    for n, offset in enumerate(offsets):
        await asyncio.sleep(max(0.0, start + offset - time.monotonic()))
        offered.append(time.monotonic())
        sending = outbox.offer(envelope("alert_summary", {"n": n}))
        if sending is not None:
            await sending
    await asyncio.sleep(2 * INTERVAL_MS / 1000)  # the last batch leaves
    return offered


async def test_a_lone_event_goes_out_at_once_without_waiting_for_a_window():
    recorder = Recorder()
    outbox = Outbox(recorder.send, interval_ms=INTERVAL_MS)
    offered = await offer_at(outbox, [0.0, 0.05, 0.5])  # the third comes after a quiet interval
    assert recorder.sent_at(0) - offered[0] < 0.005
    assert recorder.sent_at(2) - offered[2] < 0.005
    assert [numbers for _, numbers in recorder.frames] == [[0], [1], [2]]


async def test_a_burst_is_merged_in_order_and_frames_are_no_closer_than_the_interval():
    recorder = Recorder()
    outbox = Outbox(recorder.send, interval_ms=INTERVAL_MS)
    await offer_at(outbox, [n * 0.007 for n in range(100)])  # 140 events a second for 0.7 s
    received = [n for _, numbers in recorder.frames for n in numbers]
    assert received == list(range(100))
    assert len(recorder.frames) <= 10, "events were not merged"
    gaps = [later - earlier for (earlier, _), (later, _) in zip(recorder.frames, recorder.frames[1:], strict=False)]
    assert min(gaps) >= MIN_GAP


async def test_under_steady_pressure_frames_leave_once_per_interval_not_faster():
    # The slack lets one frame leave early, never a faster rate: 2 s of 140
    # events a second leave in at most one frame per interval, plus the first.
    recorder = Recorder()
    outbox = Outbox(recorder.send, interval_ms=INTERVAL_MS)
    await offer_at(outbox, [n * 0.007 for n in range(286)])
    received = [n for _, numbers in recorder.frames for n in numbers]
    assert received == list(range(286))
    span = recorder.frames[-1][0] - recorder.frames[0][0]
    assert len(recorder.frames) - 1 <= span / (INTERVAL_MS / 1000) + 0.5


async def test_events_at_the_clients_rate_with_jitter_are_not_held_to_the_intervals_end():
    # Published at exactly one per interval, each a few ms early or late: the
    # outbox must not lock onto sending at the end of each interval.
    rng = random.Random(22)
    recorder = Recorder()
    outbox = Outbox(recorder.send, interval_ms=INTERVAL_MS)
    count = 30
    offered = await offer_at(outbox, [n * INTERVAL_MS / 1000 + rng.uniform(-0.003, 0.003) for n in range(count)])
    waits = [recorder.sent_at(n) - offered[n] for n in range(count)]
    assert statistics.median(waits) < 0.005
    assert max(waits) < 0.02
    gaps = [later - earlier for (earlier, _), (later, _) in zip(recorder.frames, recorder.frames[1:], strict=False)]
    assert min(gaps) >= MIN_GAP

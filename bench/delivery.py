#!/usr/bin/env python
"""CPU of the broadcast path per socket and event: one process's Outboxes handing events over, nothing else.

    .venv/bin/python bench/delivery.py [--sockets 1000] [--events 200] [--rounds 5]

Each round offers ``--events`` events, one after another, to ``--sockets``
outboxes (the consumer's per-socket queue, ``realtime/delivery.py``) whose
send does nothing, with the interval at 0 so every offer is handed over at
once: the path the fan-out runs for each socket and event, with the frame
encoding shared as in a web process. Prints the median and best round in
microseconds per socket and event. Run it on the commit before a change and
on the change to see what the change adds (``bench/README.md``); no database
or Redis is touched.
"""

import argparse
import asyncio
import inspect
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def setup():
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsconsole.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


async def one_round(outboxes, events):
    started = time.process_time()
    for event in events:
        for outbox in outboxes:
            sending = outbox.offer(event)
            if sending is not None:
                await sending
    return time.process_time() - started


async def measure(sockets, count, rounds):
    from realtime.delivery import Outbox
    from realtime.envelope import envelope

    async def send(frame):
        return None

    counted = "tally" in inspect.signature(Outbox).parameters  # the commits before GET /metrics have none
    extra: dict[str, Any] = {}
    if counted:
        from opsconsole.telemetry import delivery_tally

        extra["tally"] = delivery_tally("/ws/bench")
    outboxes = [Outbox(send, interval_ms=0, **extra) for _ in range(sockets)]
    times = []
    for number in range(rounds + 1):
        events = [
            envelope("alert", {"id": n, "title": "bench", "status": "firing"}, {"seq": number * count + n})
            for n in range(count)
        ]
        spent = await one_round(outboxes, events)
        if number:  # the first round warms the caches
            times.append(spent / (sockets * count) * 1e6)
    return counted, times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    setup()
    counted, times = asyncio.run(measure(args.sockets, args.events, args.rounds))
    print(
        f"{'with' if counted else 'without'} the delivery tally: {statistics.median(times):.2f} us per socket "
        f"and event (median of {args.rounds} rounds; best {min(times):.2f} us), "
        f"{args.sockets} sockets x {args.events} events; load {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()

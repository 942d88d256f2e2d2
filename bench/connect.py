#!/usr/bin/env python
"""Issue 22's connect figures: CPU per socket connect on one daphne process, and a reconnect storm.

    .venv/bin/python bench/connect.py [--sockets 5000] [--hold 10]

Starts the production shape with one daphne process, then opens
``--sockets`` sockets at once from two client processes (as a restart's
reconnect storm does; each client keeps ``HANDSHAKES_IN_FLIGHT`` handshakes
in flight so that the listen backlog, not the server, is not what is
measured). Prints how long until all were served, the daphne process's CPU
per connect, then holds them ``--hold`` seconds (the Redis watch running
under the load) and publishes one event: every socket must get it, i.e. no
false outage closed any. Goals (issue 22): the storm under 10 s, <= 0.5 ms
CPU per connect.
"""

import argparse
import contextlib
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from _setup import live_console_settings  # noqa: E402  (the bench directory)
from fanout import Clients, cpu_seconds, load_average, publish_console  # noqa: E402  (the bench directory)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--hold", type=float, default=10)
    args = parser.parse_args()
    live_console_settings(open_files=65536)
    from tests.live import QUIET_JOBS, SWARM_CAPS, running_console

    with contextlib.ExitStack() as stack:
        console = stack.enter_context(running_console("services", extra_env={**SWARM_CAPS, **QUIET_JOBS}))
        pid = console.processes[0][0].pid
        url = console.url.replace("http://", "ws://") + "/ws/alerts"
        before = cpu_seconds(pid)
        clients = Clients(url, {"Authorization": f"Token {console.token}"}, args.sockets)
        cpu = cpu_seconds(pid) - before
        print(
            f"{clients.connected} of {args.sockets} sockets served in {clients.seconds:.1f} s (goal: under 10 s), "
            f"{cpu / max(1, clients.connected) * 1000:.2f} ms of daphne CPU per connect (goal: <= 0.5 ms); "
            f"failures {clients.failures}; load {load_average()}",
            flush=True,
        )
        time.sleep(args.hold)
        clients.reset()
        publish_console(console, 1, 1)
        time.sleep(3)
        counts, _, _ = clients.report()
        print(
            f"after {args.hold:g} s held: {sum(counts)} of {len(counts)} sockets got the event published then "
            f"(goal: all: no socket closed by a false outage); load {load_average()}"
        )
        clients.close()


if __name__ == "__main__":
    sys.exit(main())

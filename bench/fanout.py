#!/usr/bin/env python
"""Issue 22's fan-out figures: the console next to a bare ``websockets`` broadcast server, in alternating rounds.

    .venv/bin/python bench/fanout.py [--sockets 1000 4000] [--rates 5 10 50 200] [--seconds 8] [--rounds 2]

Starts the production shape with one daphne process (Celery worker and beat,
periodic jobs quiet) and, beside it, a bare broadcast server: one
``websockets`` process that sends each event to every socket at once,
nothing else. For each socket count, ``--sockets`` clients connect to each
server (aiohttp clients in two child processes, so that the client is not
the process measured); for each rate, the servers take turns for
``--rounds`` rounds each of ``--seconds`` seconds. The console's events are
durable ``alert`` events published from a separate process through
``realtime.publish`` (a database row, then the layer), so the daphne process
does only the fan-out; the bare server makes its own.

Per round it prints the server process's CPU (``/proc/PID/stat``) per
delivered event (a socket getting one event, single or inside a ``batch``),
latency p50/p99 from just before publishing to the client's receipt, frames
per event, and loss (events some socket never got); then the console's
ratios to the bare server's medians. The load average goes with each line:
on a shared host the clients, Postgres and Redis compete with the servers.
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _setup import live_console_settings

REPO = Path(__file__).resolve().parent.parent
CLIENT_PROCESSES = 2
HANDSHAKES_IN_FLIGHT = 50
TICKS = os.sysconf("SC_CLK_TCK")


# The bare server: its own events, sent to every socket at once.


async def bare_server(port):
    from websockets.asyncio.server import broadcast, serve

    sockets = set()

    async def handler(socket):
        sockets.add(socket)
        try:
            await socket.wait_closed()
        finally:
            sockets.discard(socket)

    loop = asyncio.get_running_loop()
    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        print("ready", flush=True)
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            rate, seconds = (float(part) for part in line.split())
            start = time.monotonic()
            for n in range(int(rate * seconds)):
                await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
                event = {"type": "alert", "data": {"n": n, "sent": time.time()}}
                broadcast(sockets, json.dumps(event))
            print("done", flush=True)


# The clients, in child processes.


def _client_process(connection):
    asyncio.run(_client_main(connection))


async def _client_main(connection):
    import aiohttp

    loop = asyncio.get_running_loop()
    seen: list[set] = []
    latencies: list[tuple[int, float]] = []  # (event n, seconds from publish to receipt)
    frames = [0]

    async def read(socket, got):
        async for message in socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            members = frame["data"]["messages"] if frame["type"] == "batch" else [frame]
            now = time.time()
            counted = False
            for member in members:
                data = member.get("data") or {}
                if member.get("type") == "alert" and "sent" in data:
                    got.add(data["n"])
                    latencies.append((data["n"], now - data["sent"]))
                    counted = True
            frames[0] += counted

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))  # the default stops at 100
    readers = []
    limit = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)

    async def open_one(url, headers):
        async with limit:
            socket = await session.ws_connect(url, headers=headers, max_msg_size=0, timeout=aiohttp.ClientWSTimeout())
        got: set = set()
        seen.append(got)
        readers.append(asyncio.create_task(read(socket, got)))

    while True:
        command, *args = await loop.run_in_executor(None, connection.recv)
        if command == "connect":
            url, headers, count = args
            started = time.monotonic()
            outcomes = await asyncio.gather(*(open_one(url, headers) for _ in range(count)), return_exceptions=True)
            failed = [repr(o) for o in outcomes if isinstance(o, Exception)]
            connection.send((count - len(failed), time.monotonic() - started, failed[:3]))
        elif command == "reset":
            for got in seen:
                got.clear()
            latencies.clear()
            frames[0] = 0
            connection.send(None)
        elif command == "report":
            connection.send(([len(got) for got in seen], latencies, frames[0]))
        else:
            for reader in readers:
                reader.cancel()
            await session.close()
            connection.send(None)
            return


class Clients:
    """``count`` sockets to ``url`` over ``CLIENT_PROCESSES`` child processes."""

    def __init__(self, url, headers, count):
        self.pipes = []
        self.processes = []
        for index in range(CLIENT_PROCESSES):
            parent, child = multiprocessing.Pipe()
            process = multiprocessing.Process(target=_client_process, args=(child,), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)
            share = count // CLIENT_PROCESSES + (index < count % CLIENT_PROCESSES)
            parent.send(("connect", url, headers, share))
        answers = [pipe.recv() for pipe in self.pipes]
        self.connected = sum(answer[0] for answer in answers)
        self.seconds = max(answer[1] for answer in answers)
        self.failures = [failure for answer in answers for failure in answer[2]]

    def _all(self, *command):
        for pipe in self.pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    def reset(self):
        self._all("reset")

    def report(self):
        answers = self._all("report")
        counts = [count for answer in answers for count in answer[0]]
        latencies = [pair for answer in answers for pair in answer[1]]
        return counts, latencies, sum(answer[2] for answer in answers)

    def close(self):
        self._all("close")
        for process in self.processes:
            process.join(timeout=10)


# Publishing and measuring.


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


PUBLISHER = """
import json, sys, time
from realtime.publish import publish
rate, seconds = float(sys.argv[-2]), float(sys.argv[-1])
took = []
start = time.monotonic()
for n in range(int(rate * seconds)):
    time.sleep(max(0.0, start + n / rate - time.monotonic()))
    alert = {"id": n + 1, "category": "cpu", "severity": "warning", "source": "bench", "status": "firing",
             "labels": {}, "n": n, "sent": time.time()}
    publish("alerts", "alert", alert)
    took.append(time.time() - alert["sent"])
print(json.dumps(took))
"""


def publish_console(console, rate, seconds):
    """Returns how long each publish call took (database row, relay pass, PUBLISH): part of the latency."""
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); exec(" + repr(PUBLISHER) + ")", str(rate), str(seconds)],
        cwd=REPO,
        env={**console.env, "DJANGO_SETTINGS_MODULE": "opsconsole.settings"},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def publish_bare(bare, rate, seconds):
    bare.stdin.write(f"{rate} {seconds}\n")
    bare.stdin.flush()
    assert bare.stdout.readline().strip() == "done"
    return None


def percentile(values, fraction):
    return values[min(len(values) - 1, int(len(values) * fraction))] if values else float("nan")


def one_round(name, pid, clients, publish, rate, seconds):
    clients.reset()
    before = cpu_seconds(pid)
    began = time.monotonic()
    publishing = publish(rate, seconds)
    achieved = int(rate * seconds) / (time.monotonic() - began)  # a slow publisher falls behind its schedule
    time.sleep(1.5)  # the last batch and the slowest socket
    cpu = cpu_seconds(pid) - before
    counts, pairs, frames = clients.report()
    expected = int(rate * seconds)
    delivered = sum(counts)
    latencies = sorted(latency for _, latency in pairs)
    # From the publish call's return: what the fan-out adds once the event is in Redis
    # (a bare broadcast's call returns at once).
    after_call = sorted(latency - (publishing[n] if publishing else 0.0) for n, latency in pairs)
    row = {
        "cpu_us": cpu / max(1, delivered) * 1e6,
        "p50": percentile(latencies, 0.50) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "after_p50": percentile(after_call, 0.50) * 1000,
        "after_p99": percentile(after_call, 0.99) * 1000,
        "lost": expected * len(counts) - delivered,
        "frames_per_event": frames / max(1, delivered),
    }
    print(
        f"  {name:7} {len(counts)} sockets {rate:g}/s (published at {achieved:.1f}/s): "
        f"{row['cpu_us']:.1f} us CPU per delivered event, "
        f"p50 {row['p50']:.0f} ms, p99 {row['p99']:.0f} ms, {row['frames_per_event']:.2f} frames per event, "
        f"lost {row['lost']} of {expected * len(counts)}"
        + (
            f"; after the publish call returned p50 {row['after_p50']:.0f} ms, p99 {row['after_p99']:.0f} ms"
            if publishing
            else ""
        )
        + f"; load {load_average()}",
        flush=True,
    )
    return row


def load_average():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def compare(sockets, rate, rows):
    def median(name, key):
        return statistics.median(row[key] for row in rows[name])

    print(
        f"= {sockets} sockets {rate:g}/s, console / bare: CPU per event "
        f"{median('console', 'cpu_us') / median('bare', 'cpu_us'):.2f}x, "
        f"p50 {median('console', 'p50') / median('bare', 'p50'):.2f}x, "
        f"p99 {median('console', 'p99') / median('bare', 'p99'):.2f}x (after the publish call p50 "
        f"{median('console', 'after_p50') / median('bare', 'p50'):.2f}x, p99 "
        f"{median('console', 'after_p99') / median('bare', 'p99'):.2f}x); "
        f"lost console {sum(row['lost'] for row in rows['console'])}, bare {sum(row['lost'] for row in rows['bare'])}",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--rates", type=float, nargs="+", default=[5, 10, 50, 200])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)  # the child: serve on this port
    args = parser.parse_args()
    if args.bare_server:
        return asyncio.run(bare_server(args.bare_server))
    live_console_settings(open_files=65536)
    from tests.live import QUIET_JOBS, SWARM_CAPS, free_port, running_console

    port = free_port()
    with contextlib.ExitStack() as stack:
        console = stack.enter_context(running_console("services", extra_env={**SWARM_CAPS, **QUIET_JOBS}))
        bare = subprocess.Popen(
            [sys.executable, __file__, "--bare-server", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        stack.callback(bare.kill)
        assert bare.stdout is not None and bare.stdout.readline().strip() == "ready"
        servers = {
            "console": (console.processes[0][0].pid, lambda rate, seconds: publish_console(console, rate, seconds)),
            "bare": (bare.pid, lambda rate, seconds: publish_bare(bare, rate, seconds)),
        }
        ws_url = console.url.replace("http://", "ws://") + "/ws/alerts"
        for sockets in args.sockets:
            clients = {
                "console": Clients(ws_url, {"Authorization": f"Token {console.token}"}, sockets),
                "bare": Clients(f"ws://127.0.0.1:{port}/", {}, sockets),
            }
            for name, group in clients.items():
                print(f"{name}: {group.connected} of {sockets} sockets in {group.seconds:.1f} s {group.failures}")
            time.sleep(2)
            for rate in args.rates:
                rows: dict[str, list[dict[str, float]]] = {"console": [], "bare": []}
                for _ in range(args.rounds):
                    for name in ("bare", "console"):
                        pid, publish = servers[name]
                        rows[name].append(one_round(name, pid, clients[name], publish, rate, args.seconds))
                compare(sockets, rate, rows)
            for group in clients.values():
                group.close()


if __name__ == "__main__":
    sys.exit(main())

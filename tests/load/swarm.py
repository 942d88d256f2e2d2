"""Many WebSocket clients and an open-loop REST writer: the traffic of the load tests and of ``bench/soak.py``.

The sockets live in child processes (:class:`Swarm`), never in the process
that times the REST writes: reading a thousand sockets keeps a Python
process busy, and its GIL must not be counted as server latency. Each
client counts, by ``(alert id, status)``, every ``alert`` event it is
pushed, single or inside a ``batch`` frame, so a test can ask whether every
socket got every write.

The clients are aiohttp's, whose frame reader is compiled: on one host they
share the cores with the server they measure, and they cost 22-25 us of CPU
per received frame where the websockets library's cost 37-41 us (a 2.5 KB
batch, JSON parsed, measured side by side).
"""

import asyncio
import http.client
import json
import multiprocessing
import os
import secrets
import threading
import time
import urllib.request
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

# Handshakes in flight per swarm process. Daphne listens with Twisted's
# default backlog of 50: when far more connections wait to be accepted, the
# kernel drops SYNs, and a dropped SYN costs the client a 1 s retransmit,
# which would measure the backlog rather than the server.
HANDSHAKES_IN_FLIGHT = 50


def alert_events(frame):
    """``(alert id, status)`` of every ``alert`` event in a server frame, batches unpacked in order."""
    messages = frame["data"]["messages"] if frame["type"] == "batch" else [frame]
    return [(message["data"]["id"], message["data"]["status"]) for message in messages if message["type"] == "alert"]


_STATUSES = {"firing": 0, "acknowledged": 1, "resolved": 2}


def event_key(alert_id, status):
    """One int per ``(alert id, status)``.

    A thousand sockets each keep every key they got, and a tuple is 5x the memory.
    """
    return alert_id * len(_STATUSES) + _STATUSES[status]


@dataclass
class _Client:
    seen: set = field(default_factory=set)
    frames: int = 0
    connect_seconds: float | None = None
    error: str | None = None
    socket: Any = None
    closing: bool = False  # the swarm is closing it, so its end is no error


async def _open(client, session, url, path, token, started):
    socket = await session.ws_connect(
        url.replace("http", "ws", 1) + path,
        headers={"Authorization": f"Token {token}"},
        max_msg_size=2**24,
    )
    hello = orjson.loads(await asyncio.wait_for(socket.receive_str(), 60))
    if hello["type"] != "connection" or hello["data"]["status"] != "connected":
        raise AssertionError(f"first frame was {hello!r}")
    client.socket = socket
    client.connect_seconds = time.monotonic() - started


async def _read(client):
    # Iteration ends when the socket closes; pings are answered by aiohttp.
    async for message in client.socket:
        if message.type is not aiohttp.WSMsgType.TEXT:
            client.error = f"{message.type.name}: {message.data!r}"
            return
        client.frames += 1
        client.seen.update(event_key(*key) for key in alert_events(orjson.loads(message.data)))
    if not client.closing:
        client.error = f"closed by the server: code {client.socket.close_code}"


async def _connect_all(session, urls, path, token, count):
    clients = [_Client() for _ in range(count)]
    gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)
    readers = []
    started = time.monotonic()

    async def connect(index, client):
        async with gate:
            try:
                await _open(client, session, urls[index % len(urls)], path, token, started)
            except Exception as error:  # noqa: BLE001 - reported to the test, which fails on it
                client.error = f"connect: {error!r}"
                return
        readers.append(asyncio.create_task(_read(client)))

    await asyncio.gather(*(connect(index, client) for index, client in enumerate(clients)))
    return clients, readers, time.monotonic() - started


def _missing(client, expected):
    return len(expected) if client.error is not None else len(expected - client.seen)


async def _wait_for(clients, expected, timeout):
    started = time.monotonic()
    waiting = list(clients)
    while waiting and time.monotonic() < started + timeout:
        # Only sockets still short are re-checked: a full pass over a
        # thousand sets of thousands of events would steal the readers' time.
        waiting = [client for client in waiting if client.error is None and not expected <= client.seen]
        if waiting:
            await asyncio.sleep(0.5)
    missing = [_missing(client, expected) for client in clients]
    return {
        "expected": len(expected),
        "seconds": time.monotonic() - started,
        "sockets_complete": sum(1 for count in missing if count == 0),
        "sockets_incomplete": sum(1 for count in missing if count),
        "events_missing": sum(missing),
        "errors": sorted({client.error for client in clients if client.error})[:5],
        "frames": sum(client.frames for client in clients),
    }


async def _serve(connection, urls, path, token, count):
    # No limit on connections per host (aiohttp's default is 100), and none
    # on a handshake's total time beyond the connect and first-frame waits.
    timeout = aiohttp.ClientTimeout(total=None, connect=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:
        await _serve_in(session, connection, urls, path, token, count)


async def _serve_in(session, connection, urls, path, token, count):
    clients, readers, seconds = await _connect_all(session, urls, path, token, count)
    os.nice(CLIENT_NICENESS)
    connected = [client for client in clients if client.error is None]
    connection.send(
        {
            "connected": len(connected),
            "seconds": seconds,
            "slowest": max((client.connect_seconds for client in connected), default=None),
            "errors": sorted({client.error for client in clients if client.error})[:5],
        }
    )
    while True:
        command, argument = await asyncio.to_thread(connection.recv)
        if command == "expect":
            expected, timeout = argument
            connection.send(await _wait_for(clients, {event_key(*key) for key in expected}, timeout))
        elif command == "close":
            for client in connected:
                client.closing = True
            await asyncio.gather(*(client.socket.close() for client in connected), return_exceptions=True)
            for reader in readers:
                reader.cancel()
            connection.send({"closed": len(connected)})
            return


# Niceness of the swarm processes once their sockets are open. On one host
# the clients and the server share the cores; the clients only have to read
# every event eventually, while the server's answers are what is timed, so
# the server goes first. (Connecting is timed from the client side, at the
# usual priority.)
CLIENT_NICENESS = 10


def _swarm_process(connection, urls, path, token, count):
    import resource

    # One fd per socket, plus the interpreter's own; the hard limit on CI is 20,000.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 1024)), hard))
    asyncio.run(_serve(connection, urls, path, token, count))


class Swarm:
    """``count`` token-authenticated sockets on ``path``, spread round-robin over ``urls``, in one child process.

    Use as a context manager; the child is stopped when the block ends,
    whatever happened inside it.
    """

    def __init__(self, urls, token, count, path="/ws/alerts"):
        context = multiprocessing.get_context("spawn")
        self._connection, child_end = context.Pipe()
        self._process = context.Process(
            target=_swarm_process, args=(child_end, list(urls), path, token, count), daemon=True
        )
        self.count = count

    def __enter__(self):
        self._process.start()
        return self

    def __exit__(self, *exc_info):
        if self._process.is_alive():
            try:
                self._connection.send(("close", None))
                self._reply(30)
            except (OSError, EOFError, TimeoutError):
                pass
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(10)

    @property
    def pid(self):
        return self._process.pid

    def _reply(self, timeout):
        if not self._connection.poll(timeout):
            raise TimeoutError(f"the swarm process did not answer within {timeout} s")
        return self._connection.recv()

    def connected(self, timeout=120):
        """Wait until every socket has tried to connect: ``{"connected", "seconds", "slowest", "errors"}``."""
        return self._reply(timeout)

    def expect(self, keys, timeout):
        """Wait up to ``timeout`` s for every socket to have every ``(alert id, status)`` in ``keys``; the counts."""
        self._connection.send(("expect", (list(keys), timeout)))
        return self._reply(timeout + 30)


def swarms(stack, urls, token, count, processes):
    """``count`` sockets split over ``processes`` swarms, entered on ``stack`` (an ExitStack), all started at once."""
    sizes = [count // processes + (1 if index < count % processes else 0) for index in range(processes)]
    return [stack.enter_context(Swarm(urls, token, size)) for size in sizes]


def load_average():
    """The machine's 1/5/15-minute load, printed next to every figure: the CI host is shared."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


@dataclass
class WriteResults:
    latencies: list = field(default_factory=list)  # seconds from each write's scheduled time to its answer
    statuses: dict = field(default_factory=dict)  # HTTP status -> count
    errors: list = field(default_factory=list)
    events: list = field(default_factory=list)  # (alert id, status) each successful write must push
    sent: int = 0
    seconds: float = 0.0

    def percentile(self, fraction):
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else None


class PacedWriter:
    """REST writes at ``rate`` per second for ``seconds``, open loop: write n is due at start + n / rate.

    A slow answer does not delay the next write (a pool of keep-alive
    connections sends it on time), and a write's latency counts from when it
    was due, so a server falling behind shows up as latency, not as a lower
    offered rate; a write more than ``give_up_after`` seconds overdue is
    counted as failed instead of sent, which bounds the run. Writes cycle create, create, acknowledge, resolve over
    distinct fingerprints (an acknowledge or resolve falls back to a create
    while nothing is waiting for it); each pushes exactly one ``alert``
    event, named by ``(alert id, new status)``.
    """

    def __init__(self, urls, token, rate=50, seconds=60, workers=32, give_up_after=20):
        self.urls, self.token, self.rate, self.seconds = list(urls), token, rate, seconds
        self.workers, self.give_up_after = workers, give_up_after
        self.run_id = secrets.token_hex(4)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._firing, self._acknowledged = deque(), deque()
        self.results = WriteResults()

    def _connection(self, url):
        connections = self._local.__dict__.setdefault("connections", {})
        if url not in connections:
            parts = urlsplit(url)
            connections[url] = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        return connections[url]

    def _request(self, url, path, body):
        payload = json.dumps(body).encode()
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        for attempt in (1, 2):
            connection = self._connection(url)
            try:
                connection.request("POST", path, payload, headers)
                response = connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection: reconnect once.
                connection.close()
                del self._local.connections[url]
                if attempt == 2:
                    raise

    def _plan(self, number):
        with self._lock:
            if number % 4 == 2 and self._firing:
                return "acknowledge", self._firing.popleft()
            if number % 4 == 3 and self._acknowledged:
                return "resolve", self._acknowledged.popleft()
        return "create", None

    def _write(self, number, due):
        if time.monotonic() - due > self.give_up_after:
            # The server is so far behind that waiting longer would only
            # stretch the run; the write counts as failed, never as skipped.
            with self._lock:
                self.results.statuses[None] = self.results.statuses.get(None, 0) + 1
                self.results.errors.append(f"write {number} not sent: {self.give_up_after} s behind schedule")
            return
        url = self.urls[number % len(self.urls)]
        kind, alert_id = self._plan(number)
        if kind == "create":
            path, expected = "/api/v1/alerts/", 201
            body = {
                "fingerprint": f"load-{self.run_id}-{number}",
                "source": "load-test",
                "category": "custom",
                "severity": "warning",
                "title": f"load write {number}",
                "labels": {"write": str(number)},
            }
        elif kind == "acknowledge":
            path, expected, body = f"/api/v1/alerts/{alert_id}/acknowledge/", 200, {}
        else:
            path, expected, body = f"/api/v1/alerts/{alert_id}/resolve/", 200, {"resolution": "load test"}
        try:
            status, raw = self._request(url, path, body)
        except Exception as error:  # noqa: BLE001 - counted as a failed write; the test fails on it
            status, raw = None, repr(error).encode()
        latency = time.monotonic() - due
        with self._lock:
            results = self.results
            results.latencies.append(latency)
            results.statuses[status] = results.statuses.get(status, 0) + 1
            if status != expected:
                results.errors.append(f"{kind} {path}: {status} {raw[:200]!r}")
                return
            alert = json.loads(raw)
            results.events.append((alert["id"], alert["status"]))
            if kind == "create":
                self._firing.append(alert["id"])
            elif kind == "acknowledge":
                self._acknowledged.append(alert["id"])

    def run(self):
        """Send every write on schedule, wait for the last answer; returns :class:`WriteResults`."""
        total = int(self.rate * self.seconds)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="paced-writer") as pool:
            start = time.monotonic() + 0.05
            for number in range(total):
                due = start + number / self.rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self._write, number, due)
                self.results.sent += 1
        self.results.seconds = time.monotonic() - start
        return self.results


def raise_alert(url, token, fingerprint):
    """Raise one alert over REST on the web process at ``url``; its JSON, after a 201."""
    request = urllib.request.Request(
        f"{url}/api/v1/alerts/",
        json.dumps({"fingerprint": fingerprint, "source": "load-test", "title": "pushed to every socket"}).encode(),
        {"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 201, response.status
        return json.load(response)

"""What a fault test sees of a console: HTTP answers and WebSocket frames, recorded, never raised.

A fault scenario runs once per module and records everything; each test then
asserts one behaviour on the record. So a probe that fails (a refused
connection, a timeout) is an observation, not an exception that would stop
the scenario half-way and hide what the later steps would have shown.
"""

import asyncio
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import websockets

from tests.live import _output, _spawn


@dataclass
class Answer:
    """One HTTP exchange: ``status`` is None when no HTTP answer came (``body`` then says why)."""

    method: str
    path: str
    status: int | None
    headers: dict
    body: object
    at: float  # time.monotonic() when the answer came

    def __str__(self):
        return f"{self.method} {self.path} -> {self.status} {str(self.body)[:300]}"


def call(console, method, path, body=None, *, url=None, timeout=10):
    """``method path`` on the console with its API token; the answer, whatever it is."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url or console.url}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Token {console.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, dict(error.headers), error.read()
    except OSError as error:  # refused, reset, timed out: no HTTP answer at all
        return Answer(method, path, None, {}, f"{type(error).__name__}: {error}", time.monotonic())
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(method, path, status, headers, parsed, time.monotonic())


def checked(answer, check):
    """The status /healthz gave ``check`` in ``answer`` (or what came instead of a JSON body)."""
    if not isinstance(answer.body, dict):
        return answer.body
    return answer.body.get("checks", {}).get(check, {}).get("status")


async def acall(console, method, path, body=None, **options):
    return await asyncio.to_thread(call, console, method, path, body, **options)


def messages(frame):
    """The events in a frame: a ``batch`` carries several, in order."""
    return frame["data"]["messages"] if frame.get("type") == "batch" else [frame]


def latest_seq(frames, start=0):
    """The highest ``meta.seq`` a client has seen in ``frames``, or ``start``."""
    seqs = [m["meta"]["seq"] for f in frames for m in messages(f) if isinstance(m.get("meta", {}).get("seq"), int)]
    return max([start, *seqs])


@dataclass
class Stream:
    """A WebSocket client that keeps every frame it received and how the socket ended."""

    url: str
    frames: list = field(default_factory=list)
    arrivals: list = field(default_factory=list)  # time.monotonic() each frame came, index for index
    close_code: int | None = None
    close_reason: str = ""
    closed_at: float | None = None  # time.monotonic()
    failure: str = ""  # why the handshake or a read failed, if it did
    replay: list = field(default_factory=list)  # after resume(): the messages from the request to its answer
    socket: Any = None

    @property
    def hello(self):
        return self.frames[0] if self.frames and self.frames[0]["type"] == "connection" else None

    def of_type(self, type_):
        return [m for f in self.frames for m in messages(f) if m["type"] == type_]

    def arrived(self, wanted):
        """When the first frame holding a message with ``wanted(message)`` came (time.monotonic()), or None."""
        for frame, at in zip(self.frames, self.arrivals, strict=False):
            if any(wanted(message) for message in messages(frame)):
                return at
        return None

    async def open(self, token, timeout=10):
        """Handshake and read the first frame; on failure ``failure`` or ``close_code`` says what happened."""
        try:
            headers = {"Authorization": f"Token {token}"}
            self.socket = await asyncio.wait_for(
                websockets.connect(self.url, additional_headers=headers, open_timeout=timeout), timeout
            )
        except (TimeoutError, OSError, websockets.InvalidHandshake) as error:
            self.failure = f"handshake: {type(error).__name__}: {error}"
            return
        await self.read_until(lambda message: True, timeout)

    async def read_until(self, wanted, timeout):
        """Read until a message with ``wanted(message)`` arrives (and return it).

        None when the socket closed first (``close_code`` says how) or ``timeout`` seconds passed.
        """
        deadline = time.monotonic() + timeout
        while self.socket is not None and self.closed_at is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                raw = await asyncio.wait_for(self.socket.recv(), remaining)
            except TimeoutError:
                return None
            except websockets.ConnectionClosed as closed:
                self.closed_at = time.monotonic()
                if closed.rcvd is not None:
                    self.close_code, self.close_reason = closed.rcvd.code, closed.rcvd.reason
                self.failure = self.failure or f"closed: {closed}"
                return None
            frame = json.loads(raw)
            self.frames.append(frame)
            self.arrivals.append(time.monotonic())
            for message in messages(frame):
                if wanted(message):
                    return message
        return None

    async def resume(self, since, timeout=15):
        """Send ``resume`` and read up to its answer (``resumed`` or ``resync_required``, the last of ``replay``)."""
        first = len(self.frames)
        answered = ("resumed", "resync_required")
        await self.send("resume", {"since": since})
        await self.read_until(lambda message: message["type"] in answered, timeout)
        self.replay = []
        for frame in self.frames[first:]:
            for message in messages(frame):
                self.replay.append(message)
                if message["type"] in answered:
                    return

    async def send(self, type_, data=None):
        await self.socket.send(json.dumps({"type": type_, "data": data or {}}))

    async def close(self):
        if self.socket is not None:
            await self.socket.close()

    def describe(self):
        kinds = [
            m["type"] + (f"/{m['data'].get('code')}" if m["type"] == "error" else "")
            for f in self.frames
            for m in messages(f)
        ]
        return f"{self.url}: frames {kinds}, close {self.close_code} {self.close_reason!r}, {self.failure}"


def ws_url(http_url, path):
    return http_url.replace("http://", "ws://", 1) + path


async def open_stream(console, path, *, url=None, timeout=10):
    stream = Stream(ws_url(url or console.url, path))
    await stream.open(console.token, timeout)
    return stream


async def reconnect(console, path, *, url=None, within=30):
    """Open a stream, retrying every half second until the console says ``connection`` (or ``within`` s pass)."""
    deadline = time.monotonic() + within
    attempts = []
    while True:
        stream = await open_stream(console, path, url=url, timeout=max(1.0, min(10.0, deadline - time.monotonic())))
        if stream.hello is not None and stream.closed_at is None:
            return stream, attempts
        attempts.append(stream.describe())
        await stream.close()
        if time.monotonic() >= deadline:
            return stream, attempts
        await asyncio.sleep(0.5)


def _named_processes(console):
    web = [("daphne", process) for process, _ in console.processes]
    return web + list(zip(("celery worker", "celery beat"), console.workers, strict=False))


def exited(console):
    """Console processes that are no longer running, with the end of their output."""
    return [
        f"{name} pid {process.pid} exited {process.returncode}:\n{_output(process)}"
        for name, process in _named_processes(console)
        if process.poll() is not None
    ]


def log_tails(console, chars=1500):
    """The end of every console process's output: what a failure message shows to explain itself."""
    return "\n".join(
        f"--- {name} pid {process.pid}:\n{_output(process)[-chars:]}" for name, process in _named_processes(console)
    )


async def restart_web(console, index, env):
    """Start web process ``index`` again with ``env`` and wait until it answers /livez."""
    _, command = console.processes[index]
    process = _spawn(command, env)
    console.processes[index] = (process, command)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if (await acall(console, "GET", "/livez", url=console.urls[index], timeout=2)).status == 200:
            return process
        await asyncio.sleep(0.3)
    raise AssertionError(f"web process {index} did not start: {log_tails(console)}")

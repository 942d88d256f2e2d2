"""Every committed change reaches every client, or the client knows it must catch up (issue 20).

Two daphne processes, a Celery worker and beat run on a private Redis. Two
clients, one per web process, keep the alerts they hear by id and version as
a page does, and resume from their last seq whenever they see a gap or lose
their socket. Three faults in turn, each while alerts are written:

- Redis full (``maxmemory``, ``noeviction``): it still answers PING and
  PUBLISH but refuses the replay buffer's writes;
- ``CLIENT PAUSE … WRITE``: every write stalls for seconds;
- a web process exiting right after a commit, before relaying its event
  (``OPSCONSOLE_FAULT_EXIT_AFTER_COMMIT``, the kill -9 made deterministic).

After each, every client must hold exactly the database's alerts, versions
included; no resume may have said a client was current while it had a hole;
and during the Redis faults ``/readyz`` must have answered 503: naming the
stream while Redis is full, the stream or the channel layer while writes are
paused.
"""

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from tests.faults.probes import acall, call, exited, log_tails, reconnect, restart_web
from tests.live import QUIET_JOBS, run_coroutine, running_console

pytestmark = [pytest.mark.services, pytest.mark.timeout(600)]  # two web processes, a worker and beat to start

DURABLE = ("alert", "alert_deleted", "incident")
SETTLE_SECONDS = 30  # for the relay to catch up once Redis takes writes again
EXIT_HOOK = "OPSCONSOLE_FAULT_EXIT_AFTER_COMMIT"
ENV = {**QUIET_JOBS, "OPSCONSOLE_RELAY_INTERVAL": "0.5"}


@dataclass
class Mirror:
    """A client keeping alerts by id as a page does: applies events in seq order, resumes over any gap."""

    console: Any
    url: str
    state: dict = field(default_factory=dict)  # alert id -> version
    seq: int = 0
    stream: Any = None
    read: int = 0  # frames of the current stream already applied
    false_currents: list = field(default_factory=list)  # resumes that answered while a seq was missing
    resumes: list = field(default_factory=list)  # (source, count) of each resume
    told_unavailable: int = 0

    def apply(self, message) -> bool:
        """False at a gap: the client must resume before it can take this event."""
        if message["type"] == "error" and message["data"].get("code") == "SERVICE_UNAVAILABLE":
            self.told_unavailable += 1
        seq = message.get("meta", {}).get("seq")
        if message["type"] not in DURABLE or seq is None or seq <= self.seq:
            return True
        if seq != self.seq + 1:
            return False
        self.seq = seq
        data = message["data"]
        if message["type"] == "alert_deleted":
            self.state.pop(data["id"], None)
        elif message["type"] == "alert" and data["version"] >= self.state.get(data["id"], 0):
            self.state[data["id"]] = data["version"]
        return True

    async def connect(self, within=60):
        self.stream, _ = await reconnect(self.console, "/ws/alerts", url=self.url, within=within)
        self.read = len(self.stream.frames)
        if self.stream.hello is not None:
            await self.catch_up()

    async def catch_up(self):
        await self.stream.resume(self.seq)
        self.read = len(self.stream.frames)
        answer = self.stream.replay[-1] if self.stream.replay else None
        for message in self.stream.replay:
            if not self.apply(message):
                self.false_currents.append(f"a replay skipped from {self.seq} to {message['meta']['seq']}")
        if answer is not None and answer["type"] == "resumed":
            self.resumes.append((answer["data"]["source"], answer["data"]["count"]))
            if answer["data"]["seq"] > self.seq:
                self.false_currents.append(f"resumed at {answer['data']['seq']} while holding only {self.seq}")

    async def pump(self, seconds):
        """Read for ``seconds``, applying events; reconnect or resume as the browser client would."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.stream is None or self.stream.closed_at is not None or self.stream.hello is None:
                await self.connect(within=max(1.0, deadline - time.monotonic()))
                continue
            await self.stream.read_until(lambda message: False, min(0.5, max(0.05, deadline - time.monotonic())))
            frames, self.read = self.stream.frames[self.read :], len(self.stream.frames)
            for frame in frames:
                inner = frame["data"]["messages"] if frame["type"] == "batch" else [frame]
                if not all(self.apply(message) for message in inner):
                    await self.catch_up()
                    break


def database_state(console):
    answer = call(console, "GET", "/api/v1/alerts/?page_size=500")
    assert answer.status == 200, answer
    return {alert["id"]: alert["version"] for alert in answer.body["results"]}


async def write(console, url, n, tag):
    body = {"source": f"chaos-{tag}", "title": f"{tag} #{n}", "labels": {"run": secrets.token_hex(3)}}
    created = await acall(console, "POST", "/api/v1/alerts/", body, url=url, timeout=20)
    if created.status == 201 and n % 3 == 0:
        await acall(console, "POST", f"/api/v1/alerts/{created.body['id']}/acknowledge/", url=url, timeout=20)
    return created.status


async def degraded_said(console, seconds, names=("stream",)):
    """Whether /readyz named one of ``names`` as missing within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = await acall(console, "GET", "/readyz", timeout=5)
        if answer.status == 503 and set(names) & set(answer.body.get("missing", [])):
            return True
        await asyncio.sleep(0.3)
    return False


async def stream_ready(console, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = await acall(console, "GET", "/readyz", timeout=5)
        if isinstance(answer.body, dict) and "stream" not in answer.body.get("missing", ["stream"]):
            return True
        await asyncio.sleep(0.3)
    return False


@dataclass
class Phase:
    name: str
    statuses: list = field(default_factory=list)
    degraded_said: bool | None = None
    ready_again: bool | None = None
    divergent: list = field(default_factory=list)
    false_currents: list = field(default_factory=list)
    committed: int = 0  # alerts the dead process committed, read back from the database


async def settle_and_compare(console, mirrors, phase):
    for mirror in mirrors:
        await mirror.pump(3)
    expected = await asyncio.to_thread(database_state, console)
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline and any(mirror.state != expected for mirror in mirrors):
        await asyncio.gather(*(mirror.pump(1) for mirror in mirrors))
    for mirror in mirrors:
        if mirror.state != expected:
            missing = {k: v for k, v in expected.items() if mirror.state.get(k) != v}
            phase.divergent.append(f"{mirror.url}: differs on {missing} (seq {mirror.seq}) {mirror.stream.describe()}")
        phase.false_currents += mirror.false_currents
        mirror.false_currents = []


async def redis_full(console, mirrors, admin):
    phase = Phase("redis full")
    used = int(admin.info("memory")["used_memory"])
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", str(used + 2_000_000))
    try:
        for n in range(200):  # fill it: 100 kB values until Redis says OOM
            admin.set(f"junk:{n}", b"x" * 100_000)
    except redis.ResponseError:
        pass
    admin.config_set("maxmemory", str(int(admin.info("memory")["used_memory"]) - 100_000))  # over it: no write fits
    for n in range(8):
        phase.statuses.append(await write(console, console.urls[n % 2], n, "full"))
        await asyncio.gather(*(mirror.pump(0.3) for mirror in mirrors))
    phase.degraded_said = await degraded_said(console, 10)
    await asyncio.gather(*(mirror.pump(2) for mirror in mirrors))
    admin.delete(*[f"junk:{n}" for n in range(200)])
    admin.config_set("maxmemory", "0")
    phase.ready_again = await stream_ready(console, SETTLE_SECONDS)
    await settle_and_compare(console, mirrors, phase)
    return phase


async def redis_paused(console, mirrors, admin):
    phase = Phase("writes paused")
    admin.execute_command("CLIENT", "PAUSE", "9000", "WRITE")
    writes = asyncio.gather(*(write(console, console.urls[n % 2], n, "paused") for n in range(4)))
    # The writes themselves wait out most of the pause (their throttle counts
    # are in Redis too); what /readyz names is the stalled channel layer, or
    # the stream once one of their events was refused.
    phase.degraded_said = await degraded_said(console, 9, names=("stream", "channel_layer"))
    phase.statuses = list(await writes)
    phase.ready_again = await stream_ready(console, SETTLE_SECONDS)
    await settle_and_compare(console, mirrors, phase)
    return phase


async def killed_after_commit(console, mirrors):
    phase = Phase("web process exits after its commit")
    console.stop_web(1)
    # The hook names a topic: not /ws/status, whose start-up event this process records first.
    process = await restart_web(console, 1, {**console.env, EXIT_HOOK: "alerts"})
    body = {"source": "chaos-kill", "title": "dies"}
    answer = await acall(console, "POST", "/api/v1/alerts/", body, url=console.urls[1], timeout=20)
    phase.statuses.append(answer.status)  # None: the process exited before it could answer
    await asyncio.to_thread(process.wait, 10)
    await restart_web(console, 1, console.env)  # back without the hook
    found = await acall(console, "GET", "/api/v1/alerts/?source=chaos-kill")
    phase.committed = found.body["count"] if found.status == 200 else -1
    await settle_and_compare(console, mirrors, phase)
    return phase


async def integrity_run(console, redis_url):
    admin = redis.Redis.from_url(redis_url)
    mirrors = [Mirror(console, url) for url in console.urls]
    for mirror in mirrors:
        await mirror.connect()
    for n in range(3):
        await write(console, console.urls[n % 2], n, "calm")
    phases = [Phase("calm")]
    await settle_and_compare(console, mirrors, phases[0])
    for step in (redis_full(console, mirrors, admin), redis_paused(console, mirrors, admin)):
        phases.append(await step)
        done = phases[-1]
        print(
            f"\n{done.name}: divergent {done.divergent} false currents {done.false_currents} exited {exited(console)}"
        )
    phases.append(await killed_after_commit(console, mirrors))
    for mirror in mirrors:
        await mirror.stream.close()
    print("\n" + "\n".join(f"{p.name}: writes {p.statuses}, degraded said {p.degraded_said}" for p in phases))
    print("resumes: " + "; ".join(f"{m.url} {m.resumes} unavailable x{m.told_unavailable}" for m in mirrors))
    return {phase.name: phase for phase in phases}, log_tails(console)


@pytest.fixture(scope="module")
def run(redis_server):
    with running_console("services", web_processes=2, redis_url=redis_server.url, extra_env=ENV) as console:
        yield run_coroutine(integrity_run(console, redis_server.url))


@pytest.mark.parametrize("phase", ["calm", "redis full", "writes paused", "web process exits after its commit"])
def test_every_client_ends_with_exactly_the_databases_alerts(run, phase):
    phases, logs = run
    assert phases[phase].divergent == [], logs


@pytest.mark.parametrize("phase", ["calm", "redis full", "writes paused", "web process exits after its commit"])
def test_no_resume_tells_a_client_it_is_current_when_it_is_not(run, phase):
    phases, _ = run
    assert phases[phase].false_currents == []


@pytest.mark.parametrize("phase", ["redis full", "writes paused"])
def test_readyz_says_the_stream_is_degraded_while_redis_refuses_writes_and_recovers(run, phase):
    phases, logs = run
    assert phases[phase].degraded_said, logs
    assert phases[phase].ready_again, logs


def test_the_write_committed_by_a_process_that_died_before_relaying_reached_the_clients(run):
    phases, _ = run
    phase = phases["web process exits after its commit"]
    assert phase.statuses == [None], "the process exited before answering"
    assert phase.committed == 1, "its write was committed"
    assert phase.divergent == []

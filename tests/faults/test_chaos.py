"""Chaos: writes on two web processes while a web process dies and Redis stalls or fills (issue 20).

Two daphne processes, a Celery worker and beat run on a private Redis and
the test Postgres. Twenty clients, ten per process, keep the alerts and
incidents they hear by id and version as a page does: they apply durable
events in seq order, drop copies and older versions, ``resume`` over any gap
(also when a ``position`` or ``alert_summary`` says they are behind),
reconnect when their socket ends, and on ``resync_required`` reload both
lists over REST and carry on from the lists' ``X-Stream-Seq``. A writer makes
about 30 REST changes a second over both processes (alerts created,
acknowledged, resolved and attached to incidents; incidents opened and
edited), and at seeded random moments one of the faults strikes: a web
process killed (SIGKILL) and started again, ``CLIENT PAUSE … WRITE`` on
Redis for a few seconds, Redis filled to ``maxmemory`` and freed again.

Then the writes stop and the faults end, and every client must hold exactly
the database's alerts and incidents, version for version, and no ``resumed``
may ever have told a client it was current while it missed an event.

``OPSCONSOLE_CHAOS_SECONDS`` sets how long the chaos lasts (40 s by default,
for CI; 120 for the figures in bench/README.md), ``OPSCONSOLE_CHAOS_SEED``
replays a run: a failure names its seed.
"""

import asyncio
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from tests.faults.probes import acall, call, exited, log_tails, messages, reconnect, restart_web
from tests.live import QUIET_JOBS, SWARM_CAPS, run_coroutine, running_console

SECONDS = float(os.environ.get("OPSCONSOLE_CHAOS_SECONDS", "40"))
SEED = int(os.environ.get("OPSCONSOLE_CHAOS_SEED", str(random.SystemRandom().randrange(1_000_000))))
CLIENTS = 20
WRITES_PER_SECOND = 30
WRITES_AT_ONCE = 12  # a stalled console holds this many requests, not a growing pile
ROUNDS_PER_MINUTE = 1.5  # of faults, one of each kind a round, in random order at random moments
SETTLE_SECONDS = 60  # after the chaos, for every client to catch up

pytestmark = [pytest.mark.services, pytest.mark.timeout(300 + 3 * int(SECONDS))]

DURABLE = ("alert", "alert_deleted", "incident")
ENV = {
    **QUIET_JOBS,
    **SWARM_CAPS,  # twenty sockets of one token from one address
    "OPSCONSOLE_RELAY_INTERVAL": "0.5",
    "OPSCONSOLE_SUMMARY_INTERVAL": "2",  # positions and summaries: a silently lost event is noticed
    # A client away for a fault's few seconds misses more than this: the
    # resync path (REST reload, X-Stream-Seq) is taken, not only resume.
    "OPSCONSOLE_RESUME_MAX_EVENTS": "60",
    "OPSCONSOLE_API_TOKEN_RATE": "100000/min",  # one token writes and reloads for all
}


@dataclass
class Tally:
    writes: Counter = field(default_factory=Counter)  # "create 201", "ack None", …
    faults: list = field(default_factory=list)  # (seconds into the chaos, what)
    first_applied: dict = field(default_factory=dict)  # seq -> when the first client applied it


@dataclass
class Page:
    """A browser page on ``/ws/alerts``: the alerts and incidents it shows, by (kind, id) → version."""

    console: Any
    url: str
    tally: Tally
    state: dict = field(default_factory=dict)
    seq: int = 0
    stream: Any = None
    read: int = 0  # frames of the current stream already applied
    false_currents: list = field(default_factory=list)
    resumes: int = 0
    resyncs: int = 0
    connects: int = 0
    max_lag: float = 0.0  # seconds behind the first client to apply a seq

    def take(self, message) -> str:
        """Apply one message: "ok", "gap" (resume first) or "resync" (reload over REST)."""
        meta = message.get("meta", {})
        if message["type"] == "resync_required":
            return "resync"
        seq = meta.get("seq")
        if message["type"] not in DURABLE or seq is None:
            behind = isinstance(meta.get("at_seq"), int) and meta["at_seq"] > self.seq
            return "gap" if behind else "ok"
        if seq <= self.seq:
            return "ok"  # a copy
        if seq != self.seq + 1:
            return "gap"
        self.seq = seq
        now = time.monotonic()
        self.max_lag = max(self.max_lag, now - self.tally.first_applied.setdefault(seq, now))
        data = message["data"]
        if message["type"] == "alert_deleted":
            self.state[("alert", data["id"])] = None
        else:
            key = (message["type"], data["id"])
            known = self.state.get(key, 0)
            if known is not None and data["version"] >= known:
                self.state[key] = data["version"]
        return "ok"

    async def connect(self, within):
        self.stream, _ = await reconnect(self.console, "/ws/alerts", url=self.url, within=within)
        self.read = len(self.stream.frames)
        if self.stream.hello is not None and self.stream.closed_at is None:
            self.connects += 1
            await self.catch_up()

    async def catch_up(self):
        """Resume from the last seq applied; reload over REST when the server says to."""
        for _ in range(3):
            await self.stream.resume(self.seq)
            self.read = len(self.stream.frames)
            answer = self.stream.replay[-1] if self.stream.replay else None
            if answer is None:
                return  # the socket ended or stalled: the next pump reconnects or asks again
            if answer["type"] == "resync_required":
                await self.reload()
                continue
            self.resumes += 1
            # Events already on the wire when the resume was asked come first, past a gap: the
            # browser drops them, and the replay brings them again in order.
            for message in self.stream.replay[:-1]:
                self.take(message)
            if answer["data"]["seq"] > self.seq:
                self.false_currents.append(f"resumed at {answer['data']['seq']} while holding only {self.seq}")
            return

    async def reload(self):
        """What a page does on resync_required: both lists over REST, then carry on from their seq."""
        self.resyncs += 1
        alerts, alerts_seq = await asyncio.to_thread(rest_state, self.console, "alerts", self.url)
        incidents, incidents_seq = await asyncio.to_thread(rest_state, self.console, "incidents", self.url)
        if alerts is None or incidents is None:
            return  # the console is away: the next resume tries again
        self.state = {**alerts, **incidents}
        self.seq = min(alerts_seq, incidents_seq)

    async def pump(self, seconds):
        """Read for ``seconds``, applying events; reconnect, resume or reload as the browser client would."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.stream is None or self.stream.closed_at is not None or self.stream.hello is None:
                await self.connect(within=max(1.0, deadline - time.monotonic()))
                continue
            await self.stream.read_until(lambda message: False, min(0.5, max(0.05, deadline - time.monotonic())))
            frames, self.read = self.stream.frames[self.read :], len(self.stream.frames)
            for frame in frames:
                outcomes = [self.take(message) for message in messages(frame)]
                if "resync" in outcomes:
                    await self.reload()
                if "gap" in outcomes or "resync" in outcomes:
                    await self.catch_up()
                    break


def rest_state(console, kind, url=None):
    """``{(kind, id): version}`` of every alert or incident over REST, and the ``X-Stream-Seq`` of the first page."""
    state, seq, page = {}, None, 1
    while True:
        answer = call(console, "GET", f"/api/v1/{kind}/?ordering=id&page_size=500&page={page}", url=url, timeout=20)
        if answer.status != 200:
            return None, None
        if seq is None:
            seq = int(answer.headers["X-Stream-Seq"])
        singular = kind[:-1]
        state.update({(singular, row["id"]): row["version"] for row in answer.body["results"]})
        if not answer.body.get("next"):
            return state, seq
        page += 1


def database_state(console):
    alerts, _ = rest_state(console, "alerts")
    incidents, _ = rest_state(console, "incidents")
    assert alerts is not None and incidents is not None, "the console does not answer its lists"
    return {**alerts, **incidents}


class Writer:
    """About ``WRITES_PER_SECOND`` REST changes a second, paced open-loop, over every web process."""

    def __init__(self, console, rng, tally):
        self.console, self.rng, self.tally = console, rng, tally
        self.alerts: list[int] = []
        self.incidents: list[int] = []
        self.slots = asyncio.Semaphore(WRITES_AT_ONCE)

    async def run(self, seconds):
        started, n, pending = time.monotonic(), 0, set()
        while time.monotonic() - started < seconds:
            due = started + n / WRITES_PER_SECOND
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if self.slots.locked():
                self.tally.writes["skipped: console stalled"] += 1
            else:
                await self.slots.acquire()
                task = asyncio.create_task(self.one(n))
                pending.add(task)
                task.add_done_callback(pending.discard)
            n += 1
        await asyncio.gather(*pending)

    async def one(self, n):
        try:
            kind, method, path, body = self.choose(n)
            answer = await acall(self.console, method, path, body, url=self.console.urls[n % 2], timeout=15)
            self.tally.writes[f"{kind} {answer.status}"] += 1
            if answer.status == 201 and kind == "create alert":
                self.alerts.append(answer.body["id"])
            elif answer.status == 201 and kind == "open incident":
                self.incidents.append(answer.body["id"])
        finally:
            self.slots.release()

    def choose(self, n):
        rng = self.rng
        roll = rng.random()
        if roll < 0.35 or not self.alerts:
            severity = rng.choice(["info", "warning", "critical"])
            body = {"source": f"chaos-{n % 7}", "title": f"chaos #{n}", "severity": severity, "labels": {"n": str(n)}}
            return "create alert", "POST", "/api/v1/alerts/", body
        if roll < 0.55:
            return "acknowledge", "POST", f"/api/v1/alerts/{rng.choice(self.alerts)}/acknowledge/", None
        if roll < 0.7:
            return "resolve", "POST", f"/api/v1/alerts/{rng.choice(self.alerts)}/resolve/", None
        if roll < 0.78 or not self.incidents:
            body = {"title": f"chaos incident #{n}", "severity": rng.choice(["warning", "critical"])}
            return "open incident", "POST", "/api/v1/incidents/", body
        if roll < 0.88:
            body = {"alerts": rng.sample(self.alerts, min(2, len(self.alerts)))}
            return "attach", "POST", f"/api/v1/incidents/{rng.choice(self.incidents)}/alerts/", body
        change = rng.choice([{"status": "investigating"}, {"status": "mitigated"}, {"severity": "critical"}])
        return "edit incident", "PATCH", f"/api/v1/incidents/{rng.choice(self.incidents)}/", change


async def kill_web(console, rng, tally, at):
    index = rng.randrange(len(console.urls))
    tally.faults.append((at, f"SIGKILL web process {index}"))
    console.stop_web(index)
    await asyncio.sleep(rng.uniform(0.5, 2.0))
    await restart_web(console, index, console.env)


async def pause_writes(admin, rng, tally, at):
    milliseconds = rng.randrange(1500, 4000)
    tally.faults.append((at, f"CLIENT PAUSE {milliseconds} WRITE"))
    await asyncio.to_thread(admin.execute_command, "CLIENT", "PAUSE", str(milliseconds), "WRITE")
    await asyncio.sleep(milliseconds / 1000)


def _fill(admin):
    used = int(admin.info("memory")["used_memory"])
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", str(used + 2_000_000))
    try:
        for n in range(200):  # 100 kB values until Redis says OOM
            admin.set(f"junk:{n}", b"x" * 100_000)
    except redis.ResponseError:
        pass
    admin.config_set("maxmemory", str(int(admin.info("memory")["used_memory"]) - 100_000))  # over it: no write fits


def _free(admin):
    admin.delete(*[f"junk:{n}" for n in range(200)])
    admin.config_set("maxmemory", "0")


async def fill_redis(admin, rng, tally, at):
    seconds = rng.uniform(2.0, 4.0)
    tally.faults.append((at, f"Redis full for {seconds:.1f} s"))
    await asyncio.to_thread(_fill, admin)
    try:
        await asyncio.sleep(seconds)
    finally:
        await asyncio.to_thread(_free, admin)


async def strike(console, admin, rng, tally, seconds):
    """The faults in turn, each at a random moment of its slot, one at a time."""
    kinds = ["kill", "pause", "fill"] * max(1, round(seconds / 60 * ROUNDS_PER_MINUTE))
    rng.shuffle(kinds)
    slot = seconds / len(kinds)
    started = time.monotonic()
    for n, kind in enumerate(kinds):
        await asyncio.sleep(max(0.0, started + n * slot + rng.uniform(0, slot * 0.4) - time.monotonic()))
        at = round(time.monotonic() - started, 1)
        if kind == "kill":
            await kill_web(console, rng, tally, at)
        elif kind == "pause":
            await pause_writes(admin, rng, tally, at)
        else:
            await fill_redis(admin, rng, tally, at)


async def stream_ready(console, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = await acall(console, "GET", "/readyz", timeout=5)
        if isinstance(answer.body, dict) and "stream" not in answer.body.get("missing", ["stream"]):
            return True
        await asyncio.sleep(0.3)
    return False


async def pump_all(pages, seconds):
    await asyncio.gather(*(page.pump(seconds) for page in pages))


@dataclass
class Run:
    seed: int
    tally: Tally
    pages: list
    divergent: list
    ready_again: bool
    seconds: float
    logs: str

    def figures(self):
        writes = sum(count for what, count in self.tally.writes.items() if not what.startswith("skipped"))
        kinds = Counter(what.split()[0] for _, what in self.tally.faults)
        return (
            f"seed {self.seed}, {self.seconds:.0f} s of chaos: {writes} writes ({dict(self.tally.writes)}); "
            f"faults {self.tally.faults} (kills {kinds['SIGKILL']}, pauses {kinds['CLIENT']}, fills {kinds['Redis']}); "
            f"{sum(p.connects for p in self.pages)} connects, {sum(p.resumes for p in self.pages)} resumes, "
            f"{sum(p.resyncs for p in self.pages)} resyncs; max client lag {max(p.max_lag for p in self.pages):.1f} s; "
            f"{len(self.divergent)} divergent clients of {len(self.pages)}"
        )


async def chaos_run(console, redis_url):
    rng = random.Random(SEED)
    admin = redis.Redis.from_url(redis_url, socket_timeout=10)
    tally = Tally()
    pages = [Page(console, console.urls[n % 2], tally) for n in range(CLIENTS)]
    await asyncio.gather(*(page.connect(within=60) for page in pages))
    writer = Writer(console, rng, tally)
    started = time.monotonic()
    chaos = asyncio.gather(writer.run(SECONDS), strike(console, admin, rng, tally, SECONDS))
    while not chaos.done():
        await pump_all(pages, 0.5)
    await chaos
    seconds = time.monotonic() - started
    ready_again = await stream_ready(console, SETTLE_SECONDS)
    # Read again each round: a write the writer gave up on (a stalled console) may still commit.
    deadline = time.monotonic() + SETTLE_SECONDS
    await pump_all(pages, 2)
    expected = await asyncio.to_thread(database_state, console)
    while time.monotonic() < deadline and any(page.state != expected for page in pages):
        await pump_all(pages, 1)
        expected = await asyncio.to_thread(database_state, console)
    divergent = []
    for n, page in enumerate(pages):
        if page.state != expected:
            wrong = {k: (page.state.get(k), v) for k, v in expected.items() if page.state.get(k) != v}
            extra = sorted(set(page.state) - set(expected))[:5]
            divergent.append(f"client {n} on {page.url} (seq {page.seq}): (held, db) {wrong} extra {extra}")
    for page in pages:
        await page.stream.close()
    run = Run(SEED, tally, pages, divergent, ready_again, seconds, f"{exited(console)}\n{log_tails(console)}")
    print("\nchaos: " + run.figures())
    return run


@pytest.fixture(scope="module")
def run(redis_server):
    with running_console("services", web_processes=2, redis_url=redis_server.url, extra_env=ENV) as console:
        yield run_coroutine(chaos_run(console, redis_server.url))


def test_every_client_ends_with_exactly_the_databases_alerts_and_incidents(run):
    assert run.divergent == [], f"{run.figures()}\n{run.divergent[:3]}\n{run.logs}"


def test_no_client_was_told_it_was_current_while_it_missed_an_event(run):
    told = [(n, page.false_currents) for n, page in enumerate(run.pages) if page.false_currents]
    assert told == [], f"seed {run.seed}: {told[:3]}"


def test_the_chaos_happened_and_the_writes_went_on(run):
    kinds = {what.split()[0] for _, what in run.tally.faults}
    assert kinds == {"SIGKILL", "CLIENT", "Redis"}, f"seed {run.seed}: {run.tally.faults}"
    answered = sum(count for what, count in run.tally.writes.items() if what.endswith((" 200", " 201")))
    assert answered >= WRITES_PER_SECOND * run.seconds * 0.3, f"seed {run.seed}: {run.figures()}"
    assert run.ready_again, f"seed {run.seed}: /readyz never named the stream healthy again\n{run.logs}"

"""Postgres stopped for 10 s, then started again, under a running console (issue 8, fault 2).

One console (one daphne process, Celery worker and beat) runs on a private
Postgres cluster and the shared Redis under its own prefix. The outage
happens once, in the module's fixture, which records every answer; each test
asserts one behaviour of that record. Nothing of the console is restarted:
service must come back by itself.
"""

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.faults.probes import acall, checked, exited, latest_seq, log_tails, open_stream, reconnect
from tests.live import QUIET_JOBS, run_coroutine, running_console

pytestmark = pytest.mark.services

OUTAGE_SECONDS = 10
BACK_WITHIN_SECONDS = 15


@dataclass
class Record:
    stopped_at: float = 0.0  # time.monotonic()
    started_at: float = 0.0
    reads_during: list = field(default_factory=list)
    writes_during: list = field(default_factory=list)
    healthz_during: list = field(default_factory=list)
    reads_after: list = field(default_factory=list)
    writes_after: list = field(default_factory=list)
    healthz_after: list = field(default_factory=list)
    exited_during: list = field(default_factory=list)
    exited_after: list = field(default_factory=list)
    logs: str = ""  # the end of each console process's output, for failure messages
    stream: Any = None  # the socket open across the outage
    resumed: Any = None  # the same client after reconnecting, if the console closed its socket
    after_title: str = ""  # the alert written once Postgres was back
    handshake: Any = None  # a socket opened while Postgres was down

    def back_after(self, answers, status):
        """Seconds from Postgres's start to the first ``status`` answer among ``answers``, or None."""
        ok = [answer for answer in answers if answer.status == status]
        return ok[0].at - self.started_at if ok else None

    def heard_of_the_alert_written_after(self):
        streams = [stream for stream in (self.stream, self.resumed) if stream is not None]
        return [m for stream in streams for m in stream.of_type("alert") if m["data"]["title"] == self.after_title]


def new_alert(title):
    return {"source": "fault-postgres", "title": title, "labels": {"run": secrets.token_hex(4)}}


async def probe_while_down(console, record):
    # Concurrently, as independent clients would: each waits up to the pool's
    # timeout (2 s) for a connection before its 503.
    while time.monotonic() < record.stopped_at + OUTAGE_SECONDS - 3:
        read, write, health = await asyncio.gather(
            acall(console, "GET", "/api/v1/alerts/", timeout=5),
            acall(console, "POST", "/api/v1/alerts/", new_alert("During the outage"), timeout=5),
            acall(console, "GET", "/healthz", timeout=5),
        )
        record.reads_during.append(read)
        record.writes_during.append(write)
        record.healthz_during.append(health)
        await asyncio.sleep(0.5)


async def probe_until_back(console, record, within):
    """Repeat a read, a write and /healthz, each until it succeeds once (or ``within`` seconds pass)."""
    probes = (
        (record.reads_after, 200, ("GET", "/api/v1/alerts/", None)),
        (record.writes_after, 201, ("POST", "/api/v1/alerts/", new_alert(record.after_title))),
        (record.healthz_after, 200, ("GET", "/healthz", None)),
    )
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        waiting = [
            (answers, request) for answers, status, request in probes if record.back_after(answers, status) is None
        ]
        if not waiting:
            return
        for answers, request in waiting:
            answers.append(await acall(console, *request, timeout=5))
        await asyncio.sleep(0.5)


async def outage(console, postgres_server):
    record = Record(after_title=f"Written after the outage {secrets.token_hex(3)}")
    record.stream = await open_stream(console, "/ws/alerts")
    before = await acall(console, "POST", "/api/v1/alerts/", new_alert("Before the outage"))
    assert before.status == 201, f"an alert before the outage: {before}"
    pushed = await record.stream.read_until(lambda m: m["type"] == "alert" and m["data"]["id"] == before.body["id"], 10)
    assert pushed is not None, f"the alert before the outage was not pushed: {record.stream.describe()}"
    since = latest_seq(record.stream.frames)

    def heard(message):
        return message["type"] == "alert" and message["data"]["title"] == record.after_title

    # The client keeps reading across the outage, as a browser would.
    listening = asyncio.create_task(record.stream.read_until(heard, OUTAGE_SECONDS + 60))
    postgres_server.stop()
    record.stopped_at = time.monotonic()
    try:

        async def handshake():
            stream = await open_stream(console, "/ws/alerts", timeout=8)
            await stream.read_until(lambda message: False, 5)  # its close
            return stream

        # Beside the probes, as another client would: the outage lasts only OUTAGE_SECONDS.
        opening = asyncio.create_task(handshake())
        await probe_while_down(console, record)
        record.handshake = await opening
        record.exited_during = exited(console)
        await asyncio.sleep(max(0.0, record.stopped_at + OUTAGE_SECONDS - time.monotonic()))
    finally:
        postgres_server.start()
    record.started_at = time.monotonic()
    await probe_until_back(console, record, within=30)
    if record.stream.closed_at is None:
        await asyncio.wait([listening], timeout=10)
    listening.cancel()
    if record.stream.closed_at is not None and not record.heard_of_the_alert_written_after():
        # Told and closed: reconnect and resume, as the protocol says a client does.
        record.resumed, _ = await reconnect(console, "/ws/alerts", within=20)
        if record.resumed.hello is not None:
            await record.resumed.resume(since)
            if not record.heard_of_the_alert_written_after():
                await record.resumed.read_until(heard, 10)
    await record.stream.close()
    if record.resumed is not None:
        await record.resumed.close()
    record.exited_after = exited(console)
    record.logs = log_tails(console)
    print(
        f"\npostgres restart: reads back after {record.back_after(record.reads_after, 200)} s, "
        f"writes after {record.back_after(record.writes_after, 201)} s, "
        f"healthz after {record.back_after(record.healthz_after, 200)} s; "
        f"socket across the outage: {record.stream.describe()}"
    )
    return record


@pytest.fixture(scope="module")
def record(postgres_server):
    with running_console("services", database_url=postgres_server.url, extra_env=QUIET_JOBS) as console:
        yield run_coroutine(outage(console, postgres_server))


def unavailable(answers):
    """Each answer as (status, JSON detail present, Retry-After): what a client needs to back off."""
    return [
        (
            answer.status,
            isinstance(answer.body, dict) and bool(answer.body.get("detail")),
            answer.headers.get("Retry-After"),
        )
        for answer in answers
    ]


def test_rest_reads_answer_503_json_with_retry_after_while_postgres_is_down(record):
    assert len(record.reads_during) >= 3, "too few reads during the outage"
    expected = [(503, True, "5")] * len(record.reads_during)
    assert unavailable(record.reads_during) == expected, [str(answer) for answer in record.reads_during]


def test_rest_writes_answer_503_json_with_retry_after_while_postgres_is_down(record):
    assert len(record.writes_during) >= 3, "too few writes during the outage"
    expected = [(503, True, "5")] * len(record.writes_during)
    assert unavailable(record.writes_during) == expected, [str(answer) for answer in record.writes_during]


def test_healthz_answers_503_naming_the_database_while_postgres_is_down(record):
    assert len(record.healthz_during) >= 3, "too few /healthz probes during the outage"
    observed = [(answer.status, checked(answer, "database")) for answer in record.healthz_during]
    assert observed == [(503, "fail")] * len(observed)


def test_no_console_process_dies_while_postgres_is_down(record):
    assert record.exited_during == []
    assert record.exited_after == []


def test_rest_reads_succeed_again_within_15_s_of_postgres_coming_back(record):
    seconds = record.back_after(record.reads_after, 200)
    assert seconds is not None and seconds <= BACK_WITHIN_SECONDS, [str(a) for a in record.reads_after[-3:]]


def test_rest_writes_succeed_again_within_15_s_of_postgres_coming_back(record):
    seconds = record.back_after(record.writes_after, 201)
    assert seconds is not None and seconds <= BACK_WITHIN_SECONDS, [str(a) for a in record.writes_after[-3:]]


def test_healthz_answers_200_within_15_s_of_postgres_coming_back(record):
    seconds = record.back_after(record.healthz_after, 200)
    assert seconds is not None and seconds <= BACK_WITHIN_SECONDS, f"{record.healthz_after[-1]}\n{record.logs}"


def test_a_client_connected_across_the_outage_hears_of_the_first_alert_written_after_it(record):
    described = [stream.describe() for stream in (record.stream, record.resumed) if stream is not None]
    assert len(record.heard_of_the_alert_written_after()) == 1, described


def test_a_handshake_while_postgres_is_down_is_told_service_unavailable_and_closed_4503(record):
    # Never an HTTP 500: the credentials cannot be checked, and the client is told to come back.
    assert record.handshake.hello is None, record.handshake.describe()
    [error] = record.handshake.of_type("error")
    assert error["data"]["code"] == "SERVICE_UNAVAILABLE" and error["data"]["retry_after"] > 0
    assert record.handshake.close_code == 4503, record.handshake.describe()

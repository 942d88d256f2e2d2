"""One of two daphne processes killed under a connected client (issue 8, fault 3).

The console runs two daphne processes on the shared Postgres and Redis (its
own database and prefix). A client on the first process is cut off by
SIGKILL; while it is away alerts change through the second; it reconnects to
the second and resumes from the last seq it saw. A witness socket on the
second process hears the same events live, so the replay can be compared
with what was really pushed: same events, same ids, same seqs.
"""

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.faults.probes import acall, latest_seq, open_stream, reconnect
from tests.live import QUIET_JOBS, run_coroutine, running_console

pytestmark = pytest.mark.services


@dataclass
class Record:
    since: int = 0  # the last seq the client saw before its process died
    cut_off: Any = None  # the client's socket to the killed process
    resumed: Any = None  # the client again, on the surviving process
    reconnect_attempts: list = field(default_factory=list)
    witness: Any = None  # a socket on the surviving process all along
    committed: list = field(default_factory=list)  # (alert id, status) of each write while the client was away
    survivor_exited: list = field(default_factory=list)

    def replayed_alerts(self):
        return [message for message in self.resumed.replay if message["type"] == "alert"]

    def witnessed_alerts(self):
        """Alert events the witness heard live after the client's last seq."""
        return [message for message in self.witness.of_type("alert") if message["meta"]["seq"] > self.since]


async def writes_while_away(console, record, survivor):
    created = []
    for n in range(3):
        title = f"While the client was away #{n}"
        body: dict[str, Any] | None = {
            "source": "fault-daphne",
            "title": title,
            "labels": {"run": secrets.token_hex(4)},
        }
        answer = await acall(console, "POST", "/api/v1/alerts/", body, url=survivor)
        assert answer.status == 201, f"writing through the surviving process: {answer}"
        created.append(answer.body["id"])
        record.committed.append((answer.body["id"], "firing"))
    for alert_id, action, status in ((created[0], "acknowledge", "acknowledged"), (created[1], "resolve", "resolved")):
        body = {"resolution": "done"} if action == "resolve" else None
        answer = await acall(console, "POST", f"/api/v1/alerts/{alert_id}/{action}/", body, url=survivor)
        assert answer.status == 200, f"{action} through the surviving process: {answer}"
        record.committed.append((alert_id, status))


async def process_killed(console):
    record = Record()
    doomed, survivor = console.urls
    record.cut_off = await open_stream(console, "/ws/alerts", url=doomed)
    record.witness = await open_stream(console, "/ws/alerts", url=survivor)
    assert record.cut_off.hello and record.witness.hello, f"{record.cut_off.describe()} {record.witness.describe()}"
    before = await acall(
        console, "POST", "/api/v1/alerts/", {"source": "fault-daphne", "title": "Before the kill"}, url=survivor
    )
    assert before.status == 201, f"an alert before the kill: {before}"
    pushed = await record.cut_off.read_until(
        lambda m: m["type"] == "alert" and m["data"]["id"] == before.body["id"], 10
    )
    assert pushed is not None, f"the alert before the kill did not reach the client: {record.cut_off.describe()}"
    record.since = latest_seq(record.cut_off.frames)

    await asyncio.to_thread(console.stop_web, 0)
    await record.cut_off.read_until(lambda message: False, 5)  # the client notices its socket is gone
    await writes_while_away(console, record, survivor)
    await record.witness.read_until(
        lambda m: m["type"] == "alert" and (m["data"]["id"], m["data"]["status"]) == record.committed[-1], 10
    )
    started = time.monotonic()
    record.resumed, record.reconnect_attempts = await reconnect(console, "/ws/alerts", url=survivor, within=20)
    if record.resumed.hello is not None:
        await record.resumed.resume(record.since)
    print(
        f"\ndaphne killed: reconnected and resumed {len(record.replayed_alerts())} of {len(record.committed)} alert "
        f"changes in {time.monotonic() - started:.2f} s; answer {[m['type'] for m in record.resumed.replay][-1:]}"
    )
    for stream in (record.cut_off, record.witness, record.resumed):
        await stream.close()
    survivor_process = console.processes[1][0]
    record.survivor_exited = [] if survivor_process.poll() is None else [survivor_process.returncode]
    return record


@pytest.fixture(scope="module")
def record():
    with running_console("services", web_processes=2, extra_env=QUIET_JOBS) as console:
        yield run_coroutine(process_killed(console))


def test_the_client_of_a_killed_process_loses_its_socket(record):
    assert record.cut_off.closed_at is not None, record.cut_off.describe()


def test_the_client_of_a_killed_process_reconnects_to_the_surviving_one(record):
    assert record.resumed.hello is not None, record.reconnect_attempts[-3:]
    assert record.survivor_exited == []


def test_the_resumed_client_gets_every_alert_change_committed_while_it_was_away_in_order(record):
    changes = [(message["data"]["id"], message["data"]["status"]) for message in record.replayed_alerts()]
    assert changes == record.committed, record.resumed.describe()


def test_the_resume_after_a_killed_process_has_no_duplicates_and_rising_seqs(record):
    seqs = [message["meta"]["seq"] for message in record.resumed.replay if "seq" in message["meta"]]
    assert seqs, record.resumed.describe()
    assert seqs == sorted(set(seqs)) and seqs[0] > record.since


def test_the_resume_after_a_killed_process_replays_the_events_as_they_were_pushed_live(record):
    # From the shared Redis buffer: the very events the witness heard, with
    # their own ids and seqs, not rebuilt from the event log.
    replayed = [(m["id"], m["meta"]["seq"], m["meta"].get("replayed_from")) for m in record.replayed_alerts()]
    witnessed = [(message["id"], message["meta"]["seq"], None) for message in record.witnessed_alerts()]
    assert replayed == witnessed
    answer = record.resumed.replay[-1]
    assert answer["type"] == "resumed" and answer["data"]["seq"] == witnessed[-1][1]

"""``/ws/status``: status, system and config frames, filters, and resume after a reconnect."""

from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async

from alerts.config_audit import delete_audited, save_audited
from alerts.models import Silence
from components.services import report_status
from components.system import record_system_event
from realtime.replay import cursor_for, replay_since
from realtime.tests.sockets import ask, collect, connect
from realtime.tests.test_replay import forget_the_buffer
from realtime.topics import STATUS

pytestmark = pytest.mark.django_db(transaction=True)


def make_silence():
    silence = Silence(matchers={"team": "db"}, ends_at=datetime.now(UTC) + timedelta(hours=1), comment="maint")

    def save():
        silence.save()
        return silence

    return save_audited("alice", save)


async def test_status_system_and_config_events_reach_the_socket():
    socket, _ = await connect("/ws/status")
    await database_sync_to_async(report_status)("cache", "degraded", expect_every=30, details={"hit_rate": 0.4})
    await database_sync_to_async(record_system_event)("started", "worker", 4242)
    silence = await database_sync_to_async(make_silence)()

    status, system, config = await collect(socket, 3)

    assert status["type"] == "status" and "seq" in status["meta"]
    assert {key: status["data"][key] for key in ("component", "status", "details", "missed")} == {
        "component": "cache",
        "status": "degraded",
        "details": {"hit_rate": 0.4},
        "missed": False,
    }
    assert "last_check" in status["data"]
    assert system["type"] == "system"
    assert {key: system["data"][key] for key in ("event", "service", "pid")} == {
        "event": "started",
        "service": "worker",
        "pid": 4242,
    }
    assert "version" in system["data"]
    assert config["type"] == "config"
    assert config["data"]["action"] == "created" and config["data"]["object"] == "silence"
    assert config["data"]["id"] == str(silence.pk) and config["data"]["updated_by"] == "alice"
    assert config["data"]["old_values"] is None and config["data"]["new_values"]["comment"] == "maint"
    await socket.disconnect()


async def test_a_subscription_filters_by_event_and_component():
    socket, _ = await connect("/ws/status")
    answer = await ask(socket, {"type": "subscribe", "data": {"events": ["status"], "filters": {"component": ["db"]}}})
    assert answer["type"] == "subscription"
    await database_sync_to_async(record_system_event)("started", "beat", 1)
    await database_sync_to_async(report_status)("cache", "running", expect_every=30)
    await database_sync_to_async(report_status)("db", "down", expect_every=30)

    (only,) = await collect(socket, 1)
    assert only["type"] == "status" and only["data"]["component"] == "db"
    await socket.disconnect()


async def test_a_filter_the_topic_does_not_know_is_refused():
    socket, _ = await connect("/ws/status")
    answer = await ask(socket, {"type": "subscribe", "data": {"events": ["alert"]}})
    assert answer["type"] == "error" and "/ws/status" in answer["data"]["message"]
    await socket.disconnect()


async def test_a_client_resumes_from_the_buffer_after_a_reconnect():
    socket, hello = await connect("/ws/status")
    await socket.disconnect()
    await database_sync_to_async(report_status)("cache", "running", expect_every=30)
    await database_sync_to_async(record_system_event)("stopped", "web", 7)

    socket, _ = await connect("/ws/status")
    await socket.send_json_to({"type": "resume", "data": {"since": hello["data"]["seq"]}})
    first, second, done = [await socket.receive_json_from(timeout=5) for _ in range(3)]
    assert (first["type"], second["type"]) == ("status", "system")
    assert done["type"] == "resumed" and done["data"]["source"] == "buffer" and done["data"]["count"] == 2
    await socket.disconnect()


def test_after_the_buffer_is_lost_the_database_replays_components_config_and_processes():
    since = cursor_for(STATUS).last_seq
    report_status("cache", "running", expect_every=30)
    report_status("cache", "degraded", expect_every=30)
    silence = make_silence()
    delete_audited("bob", silence)
    record_system_event("started", "web", 99)
    forget_the_buffer()

    replay = replay_since(STATUS, since)
    assert not isinstance(replay, str), replay

    assert replay.source == "event_log"
    kinds = [
        (event["type"], event["data"].get("status") or event["data"].get("action") or event["data"]["event"])
        for event in replay.events
    ]
    assert kinds == [
        ("status", "running"),
        ("status", "degraded"),
        ("config", "created"),
        ("config", "deleted"),
        ("system", "started"),
    ]
    assert [event["meta"]["seq"] for event in replay.events] == list(range(since + 1, since + 6))

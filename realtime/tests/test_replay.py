"""``resume``: exact events from the buffer, or from the database when the buffer cannot answer; bounded."""

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from alerts import incidents, services
from alerts.models import AlertStatus
from realtime.models import StreamEvent
from realtime.replay import REPLAYED_FROM, Replay, replay_buffer, replay_since
from realtime.tests.sockets import connect
from realtime.tests.streams import position
from realtime.topics import ALERTS

pytestmark = pytest.mark.django_db(transaction=True)


def forget_the_buffer():
    """What a Redis restart without persistence (or a restarted embedded server) does to the buffer."""
    if settings.REDIS_URL:
        client = replay_buffer()._redis  # type: ignore[attr-defined]  # the Redis buffer's own client
        for key in client.scan_iter(match=f"{settings.OPSCONSOLE_REDIS_PREFIX}:replay:*"):
            client.delete(key)
    else:
        replay_buffer.cache_clear()


def changes():
    fired, _ = services.raise_alert(source="web-1", title="disk full", category="disk")
    acknowledged, _ = services.raise_alert(source="web-2", title="cpu hot", category="cpu")
    services.acknowledge(acknowledged.pk, "alice")
    incident = incidents.open_incident(title="site down", actor="bob", alert_ids=[fired.pk])
    return fired, acknowledged, incident


def test_the_buffer_answers_with_every_missed_event_exactly():
    since = position()
    fired, acknowledged, incident = changes()
    replay = replay_since(ALERTS, since)
    assert isinstance(replay, Replay) and replay.source == "buffer"
    assert [e["meta"]["seq"] for e in replay.events] == list(range(since + 1, since + 6))
    assert [(e["type"], e["data"]["id"]) for e in replay.events] == [
        ("alert", fired.pk),
        ("alert", acknowledged.pk),
        ("alert", acknowledged.pk),
        ("alert", fired.pk),  # attached: its incident and version changed
        ("incident", incident.pk),
    ]
    assert replay.events[2]["data"]["status"] == AlertStatus.ACKNOWLEDGED
    assert replay.seq == position()


def test_after_the_buffer_is_lost_the_database_answers_with_the_same_events():
    since = position()
    changes()
    from_buffer = replay_since(ALERTS, since)
    forget_the_buffer()
    from_database = replay_since(ALERTS, since)
    assert isinstance(from_buffer, Replay) and isinstance(from_database, Replay)
    assert from_database.source == REPLAYED_FROM
    assert [(e["id"], e["type"], e["data"], e["meta"]["seq"]) for e in from_database.events] == [
        (e["id"], e["type"], e["data"], e["meta"]["seq"]) for e in from_buffer.events
    ]
    assert all(e["meta"]["replayed_from"] == REPLAYED_FROM for e in from_database.events)


def test_a_hole_in_the_buffer_sends_the_resume_to_the_database():
    since = position()
    changes()
    if settings.REDIS_URL:
        client = replay_buffer()._redis  # type: ignore[attr-defined]
        [key] = list(client.scan_iter(match=f"{settings.OPSCONSOLE_REDIS_PREFIX}:replay:{ALERTS}:*"))
        client.zremrangebyscore(key, since + 2, since + 2)  # what a refused write leaves
    else:
        buffer = replay_buffer()
        for kept in buffer._events.values():  # type: ignore[attr-defined]
            kept.pop(since + 2, None)
    replay = replay_since(ALERTS, since)
    assert isinstance(replay, Replay) and replay.source == REPLAYED_FROM
    assert [e["meta"]["seq"] for e in replay.events] == list(range(since + 1, since + 6))


def test_a_resume_of_more_than_the_limit_is_told_to_resync(settings):
    settings.OPSCONSOLE_RESUME_MAX_EVENTS = 3
    since = position()
    changes()  # five events
    assert "More than 3 events" in str(replay_since(ALERTS, since))
    assert "More than 3 events" in str(replay_since(ALERTS, since + 1))
    assert isinstance(replay_since(ALERTS, since + 2), Replay)


def test_a_seq_the_stream_never_reached_is_told_to_resync():
    assert "reset" in str(replay_since(ALERTS, position() + 1))


def test_events_pruned_from_the_database_and_gone_from_the_buffer_are_told_to_resync():
    since = position()
    changes()
    forget_the_buffer()
    StreamEvent.objects.filter(topic=ALERTS, seq=since + 1).delete()
    assert "no longer kept" in str(replay_since(ALERTS, since))


def test_the_database_answers_in_pages(monkeypatch):
    monkeypatch.setattr("realtime.replay.LOG_PAGE_ROWS", 3)
    since = position()
    for n in range(7):
        services.raise_alert(source=f"web-{n}", title="paged")
    forget_the_buffer()
    replay = replay_since(ALERTS, since)
    assert isinstance(replay, Replay) and len(replay.events) == 7


async def test_a_client_resuming_after_the_buffer_was_lost_gets_every_missed_event_then_resumed():
    socket, hello = await connect()
    await socket.disconnect()
    alert, _ = await database_sync_to_async(services.raise_alert)(source="web-1", title="raised while away")
    await database_sync_to_async(services.resolve)(alert.pk, "carol", "fixed")
    await database_sync_to_async(forget_the_buffer)()

    socket, reconnected = await connect()
    await socket.send_json_to({"type": "resume", "data": {"since": hello["data"]["seq"]}})
    fired = await socket.receive_json_from(timeout=5)
    resolved = await socket.receive_json_from(timeout=5)
    done = await socket.receive_json_from(timeout=5)

    assert (fired["data"]["id"], fired["data"]["status"]) == (alert.pk, AlertStatus.FIRING)
    assert (resolved["data"]["id"], resolved["data"]["status"]) == (alert.pk, AlertStatus.RESOLVED)
    assert resolved["data"]["version"] > fired["data"]["version"]
    assert resolved["meta"]["seq"] == fired["meta"]["seq"] + 1 == hello["data"]["seq"] + 2
    assert done["type"] == "resumed"
    assert done["data"]["source"] == REPLAYED_FROM and done["data"]["count"] == 2
    assert done["data"]["seq"] == reconnected["data"]["seq"] == resolved["meta"]["seq"]
    await socket.disconnect()

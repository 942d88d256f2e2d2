"""``resume`` across a lost buffer: seqs keep their order and the event log answers for alerts and incidents."""

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from alerts import incidents, services
from alerts.models import AlertStatus, Silence
from realtime.replay import (
    LOG_MAX_AGE,
    MemoryReplayBuffer,
    RedisReplayBuffer,
    ReplayBuffer,
    replay_buffer,
    replay_since,
    seq_time,
)
from realtime.tests.sockets import connect
from realtime.topics import ALERTS, METRICS

pytestmark = pytest.mark.django_db(transaction=True)


def buffers():
    """Both kinds of buffer, each fresh (the Redis one under a private prefix)."""
    kinds: list[ReplayBuffer] = [MemoryReplayBuffer()]
    if settings.REDIS_URL:
        kinds.append(RedisReplayBuffer(settings.REDIS_URL, f"test-replay-{secrets.token_hex(4)}"))
    return kinds


def forget_the_buffer():
    """What a Redis restart without persistence (or a restarted embedded server) does to the buffer."""
    if settings.REDIS_URL:
        client = replay_buffer()._redis  # type: ignore[attr-defined]  # the Redis buffer's own client
        for key in client.scan_iter(match=f"{settings.OPSCONSOLE_REDIS_PREFIX}:*"):
            client.delete(key)
    else:
        replay_buffer.cache_clear()


def event():
    return {"type": "alert", "id": secrets.token_hex(8), "data": {}, "meta": {}}


@pytest.mark.parametrize("buffer", buffers(), ids=lambda buffer: type(buffer).__name__)
def test_seqs_increase_and_read_as_the_time_they_were_given(buffer):
    before = datetime.now(UTC)
    seqs = [buffer.append("alerts", event()) for _ in range(50)]
    assert seqs == sorted(set(seqs))
    assert before - timedelta(seconds=1) <= seq_time(seqs[-1]) <= datetime.now(UTC) + timedelta(seconds=1)


@pytest.mark.parametrize("buffer", buffers(), ids=lambda buffer: type(buffer).__name__)
def test_a_buffer_that_lost_a_publish_cannot_vouch_for_what_came_before(buffer):
    start = buffer.latest_seq("alerts")
    first = buffer.append("alerts", event())
    assert [e["meta"]["seq"] for e in buffer.since("alerts", start)] == [first]
    second = buffer.append("alerts", event(), after_a_loss=True)
    assert buffer.since("alerts", start) is None
    assert buffer.since("alerts", first) is None
    assert buffer.since("alerts", second) == []


@pytest.mark.parametrize("buffer", buffers(), ids=lambda buffer: type(buffer).__name__)
def test_a_trimmed_buffer_answers_only_from_the_oldest_event_it_still_holds(buffer, settings):
    settings.OPSCONSOLE_REPLAY_MAX_EVENTS = 1000
    start = buffer.latest_seq("alerts")
    seqs = [buffer.append("alerts", event()) for _ in range(1005)]
    assert buffer.since("alerts", start) is None
    assert buffer.since("alerts", seqs[3]) is None
    kept = buffer.since("alerts", seqs[4])
    assert [e["meta"]["seq"] for e in kept] == seqs[5:]


def test_after_the_buffer_is_lost_the_event_log_replays_the_current_state_of_what_changed():
    since = replay_buffer().latest_seq(ALERTS)
    fired, _ = services.raise_alert(source="web-1", title="disk full", category="disk")
    acknowledged, _ = services.raise_alert(source="web-2", title="cpu hot", category="cpu")
    services.acknowledge(acknowledged.pk, "alice")
    incident = incidents.open_incident(title="site down", actor="bob", alert_ids=[fired.pk])
    forget_the_buffer()

    replay = replay_since(ALERTS, since)

    assert replay.source == "event_log"
    assert replay.seq == replay_buffer().latest_seq(ALERTS)
    by_type = {(e["type"], e["data"]["id"]): e for e in replay.events}
    assert by_type[("alert", acknowledged.pk)]["data"]["status"] == AlertStatus.ACKNOWLEDGED
    assert by_type[("alert", fired.pk)]["data"]["incident"] == incident.pk
    assert by_type[("incident", incident.pk)]["data"]["title"] == "site down"
    assert len(replay.events) == 3, "one event per alert or incident, in its current state"
    assert all(e["meta"] == {"replayed_from": "event_log"} for e in replay.events)
    assert [e["type"] for e in replay.events][-1] == "incident", "in the order of their last change"


def test_the_event_log_leaves_out_what_changed_before_the_client_last_heard(monkeypatch):
    monkeypatch.setattr("realtime.replay.LOG_CLOCK_MARGIN", timedelta(0))
    services.raise_alert(source="web-1", title="old news")
    since = replay_buffer().latest_seq(ALERTS)  # numbered after that alert's commit
    news, _ = services.raise_alert(source="web-2", title="news")
    forget_the_buffer()
    assert [e["data"]["id"] for e in replay_since(ALERTS, since).events] == [news.pk]


def test_the_event_log_keeps_a_silenced_firing_alert_quiet():
    Silence.objects.create(matchers={"team": "db"}, ends_at=datetime.now(UTC) + timedelta(hours=1), comment="maint")
    since = replay_buffer().latest_seq(ALERTS)
    services.raise_alert(source="db-1", title="quiet please", labels={"team": "db"})
    forget_the_buffer()
    assert replay_since(ALERTS, since).events == []


def test_a_gap_older_than_the_log_serves_is_told_to_resync():
    forget_the_buffer()
    too_old = int((datetime.now(UTC) - LOG_MAX_AGE - timedelta(minutes=5)).timestamp() * 1_000_000)
    assert replay_since(ALERTS, too_old) is None


def test_a_topic_without_a_durable_log_is_told_to_resync():
    since = replay_buffer().latest_seq(METRICS)
    forget_the_buffer()
    assert replay_since(METRICS, since) is None


async def test_a_client_resuming_after_the_buffer_was_lost_gets_every_alert_changed_then_resumed():
    socket, hello = await connect()
    await socket.disconnect()
    alert, _ = await database_sync_to_async(services.raise_alert)(source="web-1", title="raised while away")
    await database_sync_to_async(services.resolve)(alert.pk, "carol", "fixed")
    await database_sync_to_async(forget_the_buffer)()

    socket, reconnected = await connect()
    await socket.send_json_to({"type": "resume", "data": {"since": hello["data"]["seq"]}})
    replayed = await socket.receive_json_from(timeout=5)
    done = await socket.receive_json_from(timeout=5)

    assert replayed["type"] == "alert" and replayed["data"]["id"] == alert.pk
    assert replayed["data"]["status"] == AlertStatus.RESOLVED
    assert replayed["meta"]["replayed_from"] == "event_log"
    assert done["type"] == "resumed"
    assert done["data"]["source"] == "event_log" and done["data"]["count"] == 1
    assert done["data"]["seq"] >= reconnected["data"]["seq"]
    await socket.disconnect()

"""Pacing, slow peers, counters and subscription details, through the real consumer and channel layer."""

import secrets
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from realtime import stats
from realtime.tests.sockets import alert, ask, collect, connect, push

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_burst_over_the_batch_size_limit_arrives_as_several_batches_in_order():
    socket, _ = await connect()
    await ask(socket, {"type": "set_interval", "data": {"ms": 300}})
    await push("alerts", "alert_summary", {"n": -1})  # the first leaves at once; the rest wait for the interval
    published = [await push("alerts", "alert_summary", {"n": n, "padding": "x" * 60_000}) for n in range(10)]
    frames: list[Any] = []
    while sum(len(frame["data"]["messages"]) if frame["type"] == "batch" else 1 for frame in frames) < 11:
        frames.append(await socket.receive_json_from(timeout=3))
    batches = [frame for frame in frames if frame["type"] == "batch"]
    assert len(batches) >= 2
    received = [message["id"] for batch in batches for message in batch["data"]["messages"]]
    assert received == [event["id"] for event in published]
    await socket.disconnect()


async def test_a_socket_owing_more_than_its_limit_gets_resync_required_and_close_4408(settings):
    settings.OPSCONSOLE_WS_MAX_PENDING = 10
    socket, _ = await connect()
    await ask(socket, {"type": "set_interval", "data": {"ms": 10_000}})
    dropped_before = stats.local_counts()["dropped"]
    first = await push("alerts", "alert_summary", {"n": 0})
    for n in range(1, 13):
        await push("alerts", "alert_summary", {"n": n})
    assert (await socket.receive_json_from(timeout=3))["id"] == first["id"]
    told = await socket.receive_json_from(timeout=3)
    assert told["type"] == "resync_required" and "behind" in told["data"]["reason"]
    assert (await socket.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4408}
    assert stats.local_counts()["dropped"] - dropped_before >= 11


async def test_resume_while_events_are_queued_sends_each_missed_event_once_in_order():
    socket, hello = await connect()
    await ask(socket, {"type": "set_interval", "data": {"ms": 2_000}})
    published = [await push("alerts", "alert", alert(id=0))]
    assert (await socket.receive_json_from(timeout=3))["id"] == published[0]["id"]
    published += [await push("alerts", "alert", alert(id=n)) for n in range(1, 4)]  # queued for the interval
    await socket.send_json_to({"type": "resume", "data": {"since": hello["data"]["seq"]}})
    frames = []
    while not frames or frames[-1]["type"] != "resumed":
        frames.append(await socket.receive_json_from(timeout=5))
    assert [frame["id"] for frame in frames[:-1]] == [event["id"] for event in published]
    assert await socket.receive_nothing(timeout=2.5)  # the queued copies are not sent again
    await socket.disconnect()


async def test_connection_stats_count_sockets_and_frames(settings):
    settings.OPSCONSOLE_REDIS_PREFIX = f"oc_realtime_stats_{secrets.token_hex(4)}"  # a private tally under Redis

    async def totals():
        await sync_to_async(stats.report)()
        return await sync_to_async(stats.connection_stats)()

    before = await totals()
    socket, _ = await connect()
    await ask(socket, {"type": "ping"})
    during = await totals()
    await socket.disconnect()
    after = await totals()
    assert set(during) >= {"connected_sockets", "messages_in", "messages_out", "dropped"}
    assert during["connected_sockets"] == before["connected_sockets"] + 1
    assert during["messages_in"] >= before["messages_in"] + 1
    assert during["messages_out"] >= before["messages_out"] + 2  # connection, pong
    assert after["connected_sockets"] == before["connected_sockets"]


async def test_subscribing_to_an_event_of_the_other_endpoint_names_it():
    socket, _ = await connect("/ws/metrics")
    error = await ask(socket, {"type": "subscribe", "data": {"events": ["alert.cpu"]}})
    assert error["data"]["code"] == "INVALID_MESSAGE" and "'alert.cpu'" in error["data"]["message"]
    await socket.disconnect()


async def test_source_and_category_filters_hold_back_other_alerts_but_not_a_summary():
    socket, _ = await connect()
    await ask(socket, {"type": "subscribe", "data": {"filters": {"source": ["web-1"], "category": ["disk"]}}})
    await push("alerts", "alert", alert(category="cpu"))
    await push("alerts", "alert", {**alert(category="disk"), "source": "db-1"})
    wanted = await push("alerts", "alert", alert(category="disk"))
    summary = await push("alerts", "alert_summary", {"by_severity": {}})
    events = await collect(socket, 2)
    assert [event["id"] for event in events] == [wanted["id"], summary["id"]]
    await socket.disconnect()


async def test_sockets_sent_the_same_burst_share_one_encoded_batch_frame():
    sockets = [(await connect())[0] for _ in range(3)]
    for socket in sockets:
        await ask(socket, {"type": "set_interval", "data": {"ms": 300}})
    first = await push("alerts", "alert_summary", {"n": 0})  # leaves at once; the next three wait together
    burst = [await push("alerts", "alert_summary", {"n": n}) for n in range(1, 4)]
    batches = []
    for socket in sockets:
        assert (await socket.receive_json_from(timeout=3))["id"] == first["id"]
        batches.append(await socket.receive_json_from(timeout=3))
        await socket.disconnect()
    assert [batch["type"] for batch in batches] == ["batch"] * 3
    assert batches[0]["data"]["messages"] == burst and batches[0]["meta"] == {"count": 3}
    assert batches[1] == batches[0] and batches[2] == batches[0]  # one frame, encoded once, for all three


async def test_a_filtered_copy_of_an_event_is_not_confused_with_the_event_it_came_from():
    everything, _ = await connect("/ws/metrics")
    one_host, _ = await connect("/ws/metrics")
    await ask(one_host, {"type": "subscribe", "data": {"filters": {"host": ["web-1"]}}})
    series = [
        {"name": "cpu_percent", "tags": {"host": "web-1"}, "value": 1},
        {"name": "cpu_percent", "tags": {"host": "web-2"}, "value": 2},
    ]
    published = await push("metrics", "metrics", {"series": series})
    whole = await everything.receive_json_from(timeout=3)
    narrowed = await one_host.receive_json_from(timeout=3)
    assert whole["id"] == narrowed["id"] == published["id"]
    assert whole["data"]["series"] == series
    assert narrowed["data"]["series"] == series[:1]
    await everything.disconnect()
    await one_host.disconnect()

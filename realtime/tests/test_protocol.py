"""Every row of the contract's WebSocket table, through the real consumer and channel layer."""

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from realtime.publish import publish
from realtime.tests.sockets import alert, ask, collect, connect, push

pytestmark = pytest.mark.django_db(transaction=True)


async def test_connection_frame_carries_status_client_id_server_time_and_seq():
    socket, hello = await connect()
    assert set(hello) == {"type", "id", "timestamp", "data", "meta"}
    assert hello["data"]["status"] == "connected"
    assert hello["data"]["client_id"].startswith("client_")
    assert hello["timestamp"].endswith("Z") and hello["data"]["server_time"].endswith("Z")
    assert isinstance(hello["data"]["seq"], int)
    await socket.disconnect()


async def test_ping_gets_pong():
    socket, _ = await connect()
    pong = await ask(socket, {"type": "ping"})
    assert pong["type"] == "pong" and pong["id"]
    await socket.disconnect()


@pytest.mark.parametrize(
    "frame, code",
    [
        ("{not json", "INVALID_JSON"),
        (b"\xff\xfe\x00", "INVALID_JSON"),
        ({"type": "shout"}, "UNKNOWN_TYPE"),
        ([1, 2], "INVALID_MESSAGE"),
        ({"type": 5}, "INVALID_MESSAGE"),
        ({"type": "subscribe", "data": []}, "INVALID_MESSAGE"),
        ({"type": "subscribe", "data": {"events": ["performance"]}}, "INVALID_MESSAGE"),
        ({"type": "subscribe", "data": {"filters": {"colour": ["red"]}}}, "INVALID_MESSAGE"),
        ({"type": "set_interval", "data": {"ms": 10}}, "INVALID_MESSAGE"),
        ({"type": "set_interval", "data": {"ms": "500"}}, "INVALID_MESSAGE"),
        ({"type": "resume", "data": {"since": -1}}, "INVALID_MESSAGE"),
        ({"type": "request_data", "data": {"metrics": "cpu_percent"}}, "INVALID_MESSAGE"),
        ("x" * (64 * 1024 + 1), "MESSAGE_TOO_LARGE"),
    ],
)
async def test_bad_frames_get_their_error_code_and_the_connection_stays_open(frame, code):
    socket, _ = await connect()
    error = await ask(socket, frame)
    assert error["type"] == "error"
    assert error["data"]["code"] == code
    assert error["data"]["message"]
    assert (await ask(socket, {"type": "ping"}))["type"] == "pong"
    await socket.disconnect()


async def test_more_than_twenty_messages_a_second_are_rate_limited_with_retry_after():
    socket, _ = await connect()
    for _ in range(25):
        await socket.send_json_to({"type": "ping"})
    frames = [await socket.receive_json_from(timeout=5) for _ in range(25)]
    limited = [frame for frame in frames if frame["type"] == "error"]
    assert limited and all(frame["data"]["code"] == "RATE_LIMIT_EXCEEDED" for frame in limited)
    assert all(frame["data"]["retry_after"] > 0 for frame in limited)
    assert sum(frame["type"] == "pong" for frame in frames) >= 20
    await socket.disconnect()


async def test_subscribe_echoes_and_then_only_matching_events_arrive():
    socket, _ = await connect()
    answer = await ask(
        socket,
        {"type": "subscribe", "data": {"events": ["alert.cpu"], "filters": {"severity": ["warning", "critical"]}}},
    )
    assert answer["type"] == "subscription"
    assert answer["data"] == {"events": ["alert.cpu"], "filters": {"severity": ["critical", "warning"]}}
    await push("alerts", "alert", alert(category="memory", severity="critical"))
    await push("alerts", "alert", alert(category="cpu", severity="info"))
    await push("alerts", "alert_summary", {"by_status": {}})
    wanted = await push("alerts", "alert", alert(category="cpu", severity="critical"))
    [event] = await collect(socket, 1)
    assert event["id"] == wanted["id"]
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_by_default_everything_of_the_endpoint_is_pushed_with_increasing_seq():
    socket, _ = await connect()
    first = await push("alerts", "alert", alert())
    second = await push("alerts", "incident", {"id": 3, "severity": "critical", "status": "open"})
    events = await collect(socket, 2)
    assert [event["id"] for event in events] == [first["id"], second["id"]]
    assert events[0]["meta"]["seq"] < events[1]["meta"]["seq"]
    await socket.disconnect()


async def test_unsubscribe_stops_those_events():
    socket, _ = await connect()
    await ask(socket, {"type": "subscribe", "data": {"events": ["alert", "incident"]}})
    answer = await ask(socket, {"type": "unsubscribe", "data": {"events": ["alert"]}})
    assert answer["type"] == "unsubscription" and answer["data"]["events"] == ["incident"]
    await push("alerts", "alert", alert())
    incident = await push("alerts", "incident", {"id": 1, "status": "open"})
    [event] = await collect(socket, 1)
    assert event["id"] == incident["id"]
    await socket.disconnect()


async def test_metrics_filters_narrow_the_series_of_a_metrics_event():
    socket, _ = await connect("/ws/metrics")
    await ask(socket, {"type": "subscribe", "data": {"filters": {"host": ["web-1"]}}})
    await push(
        "metrics",
        "metrics",
        {
            "series": [
                {"name": "cpu_percent", "tags": {"host": "web-1"}, "value": 1},
                {"name": "cpu_percent", "tags": {"host": "web-2"}, "value": 2},
            ]
        },
    )
    [event] = await collect(socket, 1)
    assert [item["tags"]["host"] for item in event["data"]["series"]] == ["web-1"]
    await socket.disconnect()


async def test_set_interval_is_acknowledged_and_bursts_arrive_as_one_ordered_batch():
    socket, _ = await connect()
    ack = await ask(socket, {"type": "set_interval", "data": {"ms": 500}})
    assert ack["type"] == "ack" and ack["data"] == {"action": "set_interval", "ms": 500}
    published = [await push("alerts", "alert", alert(id=number)) for number in range(6)]
    frames = []
    events = []
    while len(events) < 6:
        frame = await socket.receive_json_from(timeout=3)
        frames.append(frame["type"])
        events.extend(frame["data"]["messages"] if frame["type"] == "batch" else [frame])
    assert [event["id"] for event in events] == [event["id"] for event in published]
    assert "batch" in frames and len(frames) <= 2
    await socket.disconnect()


async def test_resume_replays_exactly_the_missed_events_in_order_then_resumed():
    socket, hello = await connect()
    await socket.disconnect()
    missed = [await push("alerts", "alert", alert(id=number)) for number in range(3)]
    socket, _ = await connect()
    await socket.send_json_to({"type": "resume", "data": {"since": hello["data"]["seq"]}})
    replayed = [await socket.receive_json_from(timeout=5) for _ in range(3)]
    assert [event["id"] for event in replayed] == [event["id"] for event in missed]
    done = await socket.receive_json_from(timeout=5)
    assert done["type"] == "resumed"
    assert done["data"]["count"] == 3 and done["data"]["seq"] == missed[-1]["meta"]["seq"]
    await socket.disconnect()


async def test_resume_on_an_endpoint_of_snapshots_only_answers_resync_required():
    socket, hello = await connect("/ws/metrics")
    await sync_to_async(publish)("metrics", "metrics", {"series": []})
    answer = await ask(socket, {"type": "resume", "data": {"since": hello["data"]["seq"]}}, timeout=10)
    while answer["type"] in ("metrics", "batch"):
        answer = await socket.receive_json_from(timeout=10)
    assert answer["type"] == "resync_required"
    await socket.disconnect()


async def test_request_data_answers_with_series_as_the_query_api_gives_them():
    from django.utils import timezone

    from metrics.points import Point
    from metrics.services import ingest_points

    now = timezone.now()
    await database_sync_to_async(ingest_points)(
        [Point("cpu_percent", "host=h1", {"host": "h1"}, now - timedelta(minutes=2), 42.0)]
    )
    socket, _ = await connect("/ws/metrics")
    answer = await ask(socket, {"type": "request_data", "data": {"metrics": ["cpu_percent"], "history_minutes": 10}})
    assert answer["type"] == "data"
    [series] = answer["data"]["series"]
    assert series["name"] == "cpu_percent" and series["tags"] == {"host": "h1"}
    assert [value for _, value in series["points"]] == [42.0]
    await socket.disconnect()


async def test_a_slow_reader_does_not_delay_a_fast_reader():
    slow, _ = await connect()
    fast, _ = await connect()
    await ask(slow, {"type": "set_interval", "data": {"ms": 10_000}})
    loop = asyncio.get_running_loop()
    started = loop.time()
    event = await push("alerts", "alert", alert())
    [received] = await collect(fast, 1)
    assert received["id"] == event["id"]
    assert loop.time() - started < 0.5
    await slow.disconnect()
    await fast.disconnect()


def test_every_frame_the_server_sends_is_one_json_object():
    from realtime.protocol import encode, error_frame

    assert json.loads(encode(error_frame("INVALID_JSON", "x")))["data"]["code"] == "INVALID_JSON"

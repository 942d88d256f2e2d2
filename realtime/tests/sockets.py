"""Sockets for consumer tests: connect with a token, ask and collect frames, push events."""

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from opsconsole.routing import router
from realtime.publish import publish
from tests.factories import make_token


async def connect(path="/ws/alerts"):
    _, key = await database_sync_to_async(make_token)()
    socket = WebsocketCommunicator(router, path, headers=[(b"authorization", f"Token {key}".encode())])
    connected, _ = await socket.connect(timeout=5)
    assert connected
    hello = await socket.receive_json_from(timeout=5)
    assert hello["type"] == "connection"
    return socket, hello


async def ask(socket, frame, timeout=5):
    if isinstance(frame, (dict, list)):
        await socket.send_json_to(frame)
    elif isinstance(frame, bytes):
        await socket.send_to(bytes_data=frame)
    else:
        await socket.send_to(text_data=frame)
    return await socket.receive_json_from(timeout=timeout)


async def push(topic, type_, data):
    return await sync_to_async(publish)(topic, type_, data)


def alert(category="cpu", severity="warning", **extra):
    return {
        "id": 1,
        "category": category,
        "severity": severity,
        "source": "web-1",
        "status": "firing",
        "labels": {"host": "web-1"},
        **extra,
    }


async def collect(socket, count, timeout=3):
    """``count`` pushed events, unpacking batches, in arrival order."""
    events = []
    while len(events) < count:
        frame = await socket.receive_json_from(timeout=timeout)
        events.extend(frame["data"]["messages"] if frame["type"] == "batch" else [frame])
    return events

"""Several daphne processes on one Redis act as one console."""

import asyncio
import json

import websockets

from tests.live import run_coroutine, running_console


async def next_of_type(socket, type_, timeout=10):
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if frame["type"] == type_:
            return frame


def test_a_performance_event_published_once_reaches_a_socket_on_each_process():
    with running_console("services", web_processes=2, extra_env={"OPSCONSOLE_COLLECT_INTERVAL": "3600"}) as console:

        async def scenario():
            headers = {"Authorization": f"Token {console.token}"}
            sockets = [
                await websockets.connect(url.replace("http", "ws") + "/ws/metrics", additional_headers=headers)
                for url in console.urls
            ]
            for socket in sockets:
                await next_of_type(socket, "connection")
            published = json.loads(
                await asyncio.to_thread(console.publish, "metrics", "performance", {"host": "probe", "cpu_percent": 12.5})
            )
            received = [await next_of_type(socket, "performance") for socket in sockets]
            for socket in sockets:
                await socket.close()
            return published, received

        published, received = run_coroutine(scenario())
        assert [frame["id"] for frame in received] == [published["id"], published["id"]]
        assert [frame["meta"]["seq"] for frame in received] == [published["meta"]["seq"]] * 2
        assert all(frame["data"]["host"] == "probe" for frame in received)

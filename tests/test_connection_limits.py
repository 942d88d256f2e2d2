"""On a real daphne process: caps, half-open requests and the open-file limit (contract, section 11).

The measured failures: one address holding 1,100 half-open requests took
down a daphne started under the common 1,024 open-file limit for 57 s; one
token opened sockets until the process answered nobody, ``/healthz``
included.
"""

import asyncio
import json
import socket
import time

import pytest
import requests
import websockets

from tests.live import QUIET_JOBS, run_coroutine, running_console

pytestmark = pytest.mark.services
HALF_OPEN = 1100
IDLE_TIMEOUT = 4


def healthz(console):
    return requests.get(f"{console.url}/healthz", timeout=5).status_code


async def open_socket(console, token):
    url = console.url.replace("http", "ws") + "/ws/alerts"
    sock = await websockets.connect(url, additional_headers={"Authorization": f"Token {token}"}, open_timeout=10)
    first = json.loads(await asyncio.wait_for(sock.recv(), 10))
    return sock, first


async def refusal(sock):
    """(error code, close code) of a socket the server refuses."""
    error = None
    try:
        while True:
            frame = json.loads(await asyncio.wait_for(sock.recv(), 10))
            if frame["type"] == "error":
                error = frame["data"]["code"]
    except websockets.ConnectionClosed:
        return error, sock.close_code


async def first_frame_type(console):
    sock, first = await open_socket(console, console.token)
    await sock.close()
    return first["type"]


def new_token(console, username):
    code = f"from django.contrib.auth.models import User; User.objects.create_user({username!r}, is_staff=True)"
    console.manage("shell", "-c", code)
    return console.manage("create_api_token", username).strip().splitlines()[-1]


def test_the_per_user_and_per_address_caps_refuse_the_next_socket_while_healthz_answers():
    caps = {"OPSCONSOLE_WS_MAX_PER_USER": "3", "OPSCONSOLE_WS_MAX_PER_ADDRESS": "5"}
    with running_console("services", extra_env={**QUIET_JOBS, **caps}) as console:
        other = new_token(console, "second")

        async def scenario():
            held = [await open_socket(console, console.token) for _ in range(3)]
            assert all(first["type"] == "connection" for _, first in held)
            over_user, first = await open_socket(console, console.token)
            user_refusal = (first["data"]["code"], *[code for _, code in [await refusal(over_user)]])
            # Another account from the same address: two more fit under the address cap of five.
            held += [await open_socket(console, other) for _ in range(2)]
            over_address, first = await open_socket(console, other)
            address_refusal = (first["data"]["code"], *[code for _, code in [await refusal(over_address)]])
            health = await asyncio.to_thread(healthz, console)
            still_open = [sock.close_code for sock, _ in held]
            for sock, _ in held:
                await sock.close()
            return user_refusal, address_refusal, health, still_open

        user_refusal, address_refusal, health, still_open = run_coroutine(scenario())
    assert user_refusal == ("TOO_MANY_CONNECTIONS", 4429)
    assert address_refusal == ("TOO_MANY_CONNECTIONS", 4429)
    assert health == 200
    assert still_open == [None] * 5  # the refusals closed nobody else


def half_open_request():
    conn = socket.create_connection(("127.0.0.1", PORT[0]), timeout=10)
    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never the blank line that ends it
    return conn


PORT = [0]


def closed_by_server(conn):
    conn.settimeout(IDLE_TIMEOUT + 10)
    try:
        return conn.recv(1024) == b""
    except ConnectionResetError:
        return True


def test_1100_half_open_requests_under_a_1024_file_limit_leave_healthz_and_a_new_socket_working():
    extra = {**QUIET_JOBS, "OPSCONSOLE_HTTP_IDLE_TIMEOUT": str(IDLE_TIMEOUT)}
    with running_console("services", extra_env=extra, soft_file_limit=1024) as console:
        PORT[0] = int(console.url.rsplit(":", 1)[1])
        web = console.processes[0][0]
        limits = open(f"/proc/{web.pid}/limits").read()  # noqa: SIM115 - read once
        soft, hard = next(line.split()[3:5] for line in limits.splitlines() if line.startswith("Max open files"))
        assert soft == hard, "the web process did not raise its soft open-file limit"

        held = [half_open_request() for _ in range(HALF_OPEN)]
        try:
            started = time.monotonic()
            assert healthz(console) == 200
            assert run_coroutine(first_frame_type(console)) == "connection"
            # The idle timeout gives the descriptors back.
            assert all(closed_by_server(conn) for conn in held[:50])
            assert time.monotonic() - started < IDLE_TIMEOUT + 10
        finally:
            for conn in held:
                conn.close()
        assert healthz(console) == 200

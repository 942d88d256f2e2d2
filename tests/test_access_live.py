"""On two real daphne processes: an ended credential closes its sockets on both within 5 s (contract, 11)."""

import asyncio
import json
import re
import time

import pytest
import requests
import websockets

from tests.live import QUIET_JOBS, run_coroutine, running_console

pytestmark = pytest.mark.services
DEADLINE_SECONDS = 5
PASSWORD = "a-long-enough-passphrase-17"


@pytest.fixture(scope="module")
def console():
    # A re-check an hour apart: only the announcements can close the sockets in time.
    with running_console(
        "services", web_processes=2, extra_env={**QUIET_JOBS, "OPSCONSOLE_WS_RECHECK_INTERVAL": "3600"}
    ) as console:
        yield console


def make_staff(console, username):
    console.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        f"User.objects.create_user({username!r}, password={PASSWORD!r}, is_staff=True)",
    )
    return console.manage("create_api_token", username).strip().splitlines()[-1]


def change_and_time(console, code):
    """Run ``code`` in a shell of the console; returns the time.time() just after it committed."""
    output = console.manage("shell", "-c", f"{code}\nimport time; print(time.time())")
    return float(output.strip().splitlines()[-1])


def sign_in(url, username):
    browser = requests.Session()
    form = browser.get(f"{url}/login/", timeout=10).text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    answer = browser.post(
        f"{url}/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf, "next": "/"},
        headers={"Referer": f"{url}/login/"},
        timeout=10,
    )
    assert answer.url.rstrip("/") == url, "the login did not lead to the dashboard"
    return browser


def sign_out(url, browser):
    page = browser.get(f"{url}/", timeout=10).text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    browser.post(
        f"{url}/logout/", data={"csrfmiddlewaretoken": csrf.group(1)}, headers={"Referer": f"{url}/"}, timeout=10
    )
    return time.time()


async def open_sockets(console, *, token=None, cookie=None):
    sockets = []
    for url in console.urls:
        headers = {"Authorization": f"Token {token}"} if token else {"Cookie": cookie}
        socket = await websockets.connect(
            url.replace("http", "ws") + "/ws/alerts", additional_headers=headers, origin=None if token else url
        )
        hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert hello["type"] == "connection"
        sockets.append(socket)
    return sockets


async def ending(socket):
    """(the last error code, the close code, when it closed) of a socket the server closes."""
    error = None
    try:
        while True:
            frame = json.loads(await asyncio.wait_for(socket.recv(), DEADLINE_SECONDS + 10))
            if frame["type"] == "error":
                error = frame["data"]["code"]
    except websockets.ConnectionClosed:
        return error, socket.close_code, time.time()


def endings_after(console, sockets_factory, change):
    """Open a socket on each process, make the change; each socket's (error, close code, seconds after the change)."""

    async def scenario():
        sockets = await sockets_factory()
        waits = [asyncio.ensure_future(ending(socket)) for socket in sockets]
        changed_at = await asyncio.to_thread(change)
        results = await asyncio.gather(*waits)
        return [(error, code, round(closed_at - changed_at, 2)) for error, code, closed_at in results]

    return run_coroutine(scenario())


def assert_closed_in_time(results, error, code):
    assert [(got_error, got_code) for got_error, got_code, _ in results] == [(error, code)] * 2, results
    assert all(seconds < DEADLINE_SECONDS for _, _, seconds in results), results


def test_a_revoked_token_closes_its_sockets_on_both_processes_within_5_s(console):
    key = make_staff(console, "revoked-token")
    revoke = (
        "from accounts.models import ApiToken; from accounts.tokens import revoke, split_key; "
        f"revoke(ApiToken.objects.get(prefix=split_key({key!r})))"
    )
    results = endings_after(console, lambda: open_sockets(console, token=key), lambda: change_and_time(console, revoke))
    assert_closed_in_time(results, "AUTHENTICATION_FAILED", 4401)


def test_a_deactivated_user_loses_its_sockets_on_both_processes_within_5_s(console):
    key = make_staff(console, "deactivated")
    deactivate = (
        "from django.contrib.auth.models import User; "
        "user = User.objects.get(username='deactivated'); user.is_active = False; user.save()"
    )
    results = endings_after(
        console, lambda: open_sockets(console, token=key), lambda: change_and_time(console, deactivate)
    )
    assert_closed_in_time(results, "AUTHENTICATION_FAILED", 4401)


def test_a_user_no_longer_staff_loses_its_browser_sockets_on_both_processes_within_5_s(console):
    make_staff(console, "destaffed")
    browser = sign_in(console.urls[0], "destaffed")
    cookie = f"sessionid={browser.cookies['sessionid']}"
    destaff = (
        "from django.contrib.auth.models import User; "
        "user = User.objects.get(username='destaffed'); user.is_staff = False; user.save()"
    )
    results = endings_after(
        console, lambda: open_sockets(console, cookie=cookie), lambda: change_and_time(console, destaff)
    )
    assert_closed_in_time(results, "PERMISSION_DENIED", 4403)


def test_logging_out_closes_the_sessions_sockets_on_both_processes_within_5_s(console):
    make_staff(console, "leaving")
    browser = sign_in(console.urls[0], "leaving")
    cookie = f"sessionid={browser.cookies['sessionid']}"
    results = endings_after(
        console, lambda: open_sockets(console, cookie=cookie), lambda: sign_out(console.urls[1], browser)
    )
    assert_closed_in_time(results, "AUTHENTICATION_FAILED", 4401)

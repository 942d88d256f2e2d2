"""Open sockets lose their access when their credentials do, and the caps on how many may be open (contract, 11)."""

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts import tokens
from accounts.models import ApiToken
from opsconsole.routing import router
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")]


async def connected_socket(headers, client=("127.0.0.1", 50000)):
    communicator = WebsocketCommunicator(router, "/ws/alerts", headers=headers)
    communicator.scope["client"] = list(client)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "connection", hello
    return communicator


async def token_socket(key, **options):
    return await connected_socket([(b"authorization", f"Token {key}".encode())], **options)


@database_sync_to_async
def signed_in_browser(user):
    browser = Client()
    browser.force_login(user)
    return browser


async def browser_socket(browser):
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}".encode()
    return await connected_socket([*ORIGIN, (b"cookie", cookie)])


async def assert_closed_with(communicator, error_code, close_code, timeout=5):
    """The next frames are the ``error`` and then the close; events queued before may come first."""
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            raise AssertionError(f"closed with {output.get('code')} before any {error_code} error")
        frame = json.loads(output["text"])
        if frame["type"] == "error":
            assert frame["data"]["code"] == error_code
            break
    assert await communicator.receive_output(timeout=timeout) == {"type": "websocket.close", "code": close_code}
    await communicator.disconnect()


async def test_revoking_a_token_closes_the_socket_it_opened_with_4401():
    token, key = await database_sync_to_async(make_token)()
    socket = await token_socket(key)
    await database_sync_to_async(tokens.revoke)(token)
    await assert_closed_with(socket, "AUTHENTICATION_FAILED", 4401)


async def test_revoking_one_token_leaves_the_same_users_other_token_open():
    user = await database_sync_to_async(make_user)(staff=True)
    revoked, revoked_key = await database_sync_to_async(make_token)(user)
    _, kept_key = await database_sync_to_async(make_token)(user)
    doomed, kept = await token_socket(revoked_key), await token_socket(kept_key)
    await database_sync_to_async(tokens.revoke)(revoked)
    await assert_closed_with(doomed, "AUTHENTICATION_FAILED", 4401)
    await kept.send_json_to({"type": "ping"})
    assert (await kept.receive_json_from(timeout=5))["type"] == "pong"
    await kept.disconnect()


async def test_deactivating_a_user_closes_its_sockets_with_4401():
    user = await database_sync_to_async(make_user)(staff=True)
    _, key = await database_sync_to_async(make_token)(user)
    socket = await token_socket(key)
    user.is_active = False
    await database_sync_to_async(user.save)()
    await assert_closed_with(socket, "AUTHENTICATION_FAILED", 4401)


async def test_removing_staff_closes_the_users_sockets_with_4403():
    user = await database_sync_to_async(make_user)(staff=True)
    browser = await signed_in_browser(user)
    socket = await browser_socket(browser)
    user.is_staff = False
    await database_sync_to_async(user.save)()
    await assert_closed_with(socket, "PERMISSION_DENIED", 4403)


async def test_logging_out_closes_the_sessions_socket_and_not_another_sessions():
    user = await database_sync_to_async(make_user)(staff=True)
    leaving, staying = await signed_in_browser(user), await signed_in_browser(user)
    doomed, kept = await browser_socket(leaving), await browser_socket(staying)
    await database_sync_to_async(leaving.post)("/logout/")
    await assert_closed_with(doomed, "AUTHENTICATION_FAILED", 4401)
    await kept.send_json_to({"type": "ping"})
    assert (await kept.receive_json_from(timeout=5))["type"] == "pong"
    await kept.disconnect()


async def test_the_recheck_closes_a_socket_whose_session_expired(settings):
    settings.OPSCONSOLE_WS_RECHECK_INTERVAL = 0.5
    user = await database_sync_to_async(make_user)(staff=True)
    browser = await signed_in_browser(user)
    socket = await browser_socket(browser)
    expired = timezone.now() - timedelta(seconds=1)
    await database_sync_to_async(Session.objects.update)(expire_date=expired)  # no signal: only the re-check sees it
    await assert_closed_with(socket, "AUTHENTICATION_FAILED", 4401)


async def test_the_recheck_closes_a_socket_whose_token_expired(settings):
    settings.OPSCONSOLE_WS_RECHECK_INTERVAL = 0.5
    token, key = await database_sync_to_async(make_token)()
    socket = await token_socket(key)
    past = timezone.now() - timedelta(seconds=1)
    await database_sync_to_async(ApiToken.objects.filter(pk=token.pk).update)(expires_at=past)
    await assert_closed_with(socket, "AUTHENTICATION_FAILED", 4401)


async def test_the_recheck_closes_a_socket_after_a_password_change_elsewhere(settings):
    settings.OPSCONSOLE_WS_RECHECK_INTERVAL = 0.5
    user = await database_sync_to_async(make_user)(staff=True)
    socket = await browser_socket(await signed_in_browser(user))
    user.set_password("another-long-passphrase-42")
    await database_sync_to_async(user.save)()
    await assert_closed_with(socket, "AUTHENTICATION_FAILED", 4401)


async def test_a_permission_change_of_a_staff_user_leaves_its_socket_open():
    user = await database_sync_to_async(make_user)(staff=True)
    _, key = await database_sync_to_async(make_token)(user)
    socket = await token_socket(key)
    permission = await database_sync_to_async(Permission.objects.get)(codename="change_alert")
    await database_sync_to_async(user.user_permissions.add)(permission)
    await database_sync_to_async(user.save)()
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from(timeout=5))["type"] == "pong"
    await socket.disconnect()


async def refused(headers, client=("127.0.0.1", 50000)):
    communicator = WebsocketCommunicator(router, "/ws/alerts", headers=headers)
    communicator.scope["client"] = list(client)
    connected, _ = await communicator.connect(timeout=5)
    assert connected  # accepted, to be told why it is closed
    return await communicator.receive_json_from(timeout=5), await communicator.receive_output(timeout=5)


async def test_the_per_user_cap_refuses_the_next_socket_with_4429(settings):
    settings.OPSCONSOLE_WS_MAX_PER_USER = 2
    user = await database_sync_to_async(make_user)(staff=True)
    _, key = await database_sync_to_async(make_token)(user)
    open_ = [await token_socket(key), await token_socket(key)]
    frame, close = await refused([(b"authorization", f"Token {key}".encode())])
    assert frame["type"] == "error" and frame["data"]["code"] == "TOO_MANY_CONNECTIONS"
    assert close == {"type": "websocket.close", "code": 4429}
    await open_[0].disconnect()
    again = await token_socket(key)  # a closed socket frees its place
    for socket in (open_[1], again):
        await socket.disconnect()


async def test_the_per_address_cap_counts_every_user_of_the_address(settings):
    settings.OPSCONSOLE_WS_MAX_PER_ADDRESS = 2
    keys = [(await database_sync_to_async(make_token)())[1] for _ in range(3)]
    open_ = [await token_socket(keys[0], client=("10.0.0.7", 1)), await token_socket(keys[1], client=("10.0.0.7", 2))]
    frame, close = await refused([(b"authorization", f"Token {keys[2]}".encode())], client=("10.0.0.7", 3))
    assert frame["data"]["code"] == "TOO_MANY_CONNECTIONS" and close["code"] == 4429
    other_address = await token_socket(keys[2], client=("10.0.0.8", 1))
    for socket in (*open_, other_address):
        await socket.disconnect()


async def test_the_process_ceiling_refuses_the_next_socket_with_4429(settings):
    settings.OPSCONSOLE_WS_MAX_PER_PROCESS = 1
    keys = [(await database_sync_to_async(make_token)())[1] for _ in range(2)]
    first = await token_socket(keys[0])
    frame, close = await refused([(b"authorization", f"Token {keys[1]}".encode())], client=("10.0.0.9", 1))
    assert frame["data"]["code"] == "TOO_MANY_CONNECTIONS" and close["code"] == 4429
    await first.disconnect()

"""Who may open a socket (contract, section 3: auth and origin)."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore

from opsconsole.routing import router
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db(transaction=True)

ALLOWED_ORIGIN = b"http://127.0.0.1:8000"
SERVED_ON = (b"host", b"127.0.0.1:8000")  # what a browser on ALLOWED_ORIGIN sends as Host


@database_sync_to_async
def session_cookie_for(user):
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}".encode()


async def open_socket(path="/ws/metrics", headers=()):
    communicator = WebsocketCommunicator(router, path, headers=[SERVED_ON, *headers])
    connected, close_code = await communicator.connect(timeout=5)
    return communicator, connected, close_code


async def test_no_credentials_get_authentication_failed_then_close_4401():
    communicator, connected, _ = await open_socket(headers=[(b"origin", ALLOWED_ORIGIN)])
    assert connected
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "error"
    assert frame["data"]["code"] == "AUTHENTICATION_FAILED"
    assert (await communicator.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4401}


async def test_a_foreign_origin_is_refused_at_the_handshake_even_with_a_staff_cookie():
    staff = await database_sync_to_async(make_user)(staff=True)
    cookie = await session_cookie_for(staff)
    _, connected, _ = await open_socket(headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie)])
    assert not connected


async def test_a_script_without_origin_is_refused_on_a_cookie_alone():
    staff = await database_sync_to_async(make_user)(staff=True)
    cookie = await session_cookie_for(staff)
    communicator, connected, _ = await open_socket(headers=[(b"cookie", cookie)])
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["data"]["code"] == "AUTHENTICATION_FAILED"
    assert (await communicator.receive_output(timeout=5))["code"] == 4401


async def test_a_script_without_origin_connects_with_a_token():
    _, key = await database_sync_to_async(make_token)()
    communicator, connected, _ = await open_socket(headers=[(b"authorization", f"Token {key}".encode())])
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "connection"
    assert frame["data"]["status"] == "connected"
    await communicator.disconnect()


async def test_a_wrong_token_is_refused_with_4401():
    communicator, _, _ = await open_socket(path="/ws/alerts", headers=[(b"authorization", b"Bearer oc_nope_nope")])
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["data"]["code"] == "AUTHENTICATION_FAILED"
    assert (await communicator.receive_output(timeout=5))["code"] == 4401


async def test_a_staff_browser_session_on_an_allowed_origin_connects():
    staff = await database_sync_to_async(make_user)(staff=True)
    cookie = await session_cookie_for(staff)
    communicator, connected, _ = await open_socket(
        path="/ws/alerts/", headers=[(b"origin", ALLOWED_ORIGIN), (b"cookie", cookie)]
    )
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "connection"
    assert set(frame) == {"type", "id", "timestamp", "data", "meta"}
    await communicator.disconnect()


async def test_a_non_staff_account_is_refused_with_4403():
    user = await database_sync_to_async(make_user)(staff=False)
    cookie = await session_cookie_for(user)
    communicator, _, _ = await open_socket(headers=[(b"origin", ALLOWED_ORIGIN), (b"cookie", cookie)])
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["data"]["code"] == "PERMISSION_DENIED"
    assert (await communicator.receive_output(timeout=5))["code"] == 4403


async def test_a_revoked_token_is_refused_with_4401():
    from accounts import tokens

    token, key = await database_sync_to_async(make_token)()
    await database_sync_to_async(tokens.revoke)(token)
    communicator, _, _ = await open_socket(path="/ws/alerts", headers=[(b"authorization", f"Token {key}".encode())])
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["data"]["code"] == "AUTHENTICATION_FAILED"
    assert (await communicator.receive_output(timeout=5))["code"] == 4401


@pytest.mark.parametrize(
    "origin",
    [b"http://127.0.0.1:9999", b"https://127.0.0.1:8000", b"http://127.0.0.1", b"http://localhost:8000", b"null"],
)
async def test_an_origin_of_another_scheme_host_or_port_is_refused_with_a_staff_cookie(origin):
    staff = await database_sync_to_async(make_user)(staff=True)
    cookie = await session_cookie_for(staff)
    _, connected, _ = await open_socket(headers=[(b"origin", origin), (b"cookie", cookie)])
    assert not connected


async def test_a_host_header_outside_allowed_hosts_makes_no_origin_the_consoles(settings):
    staff = await database_sync_to_async(make_user)(staff=True)
    cookie = await session_cookie_for(staff)
    communicator = WebsocketCommunicator(
        router,
        "/ws/metrics",
        headers=[(b"host", b"evil.example"), (b"origin", b"http://evil.example"), (b"cookie", cookie)],
    )
    connected, _ = await communicator.connect(timeout=5)
    assert not connected


async def test_a_csrf_trusted_origin_is_accepted_exactly_and_its_subdomain_pattern_too(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://console.example.com", "https://*.ops.example.com"]
    staff = await database_sync_to_async(make_user)(staff=True)
    cookie = await session_cookie_for(staff)
    outcomes = {}
    for origin in (b"https://console.example.com", b"https://a.ops.example.com", b"http://console.example.com"):
        communicator, connected, _ = await open_socket(headers=[(b"origin", origin), (b"cookie", cookie)])
        outcomes[origin] = connected
        if connected:
            await communicator.disconnect()
    assert outcomes == {
        b"https://console.example.com": True,
        b"https://a.ops.example.com": True,
        b"http://console.example.com": False,
    }


async def test_a_secure_connection_expects_an_https_origin():
    staff = await database_sync_to_async(make_user)(staff=True)
    cookie = await session_cookie_for(staff)
    outcomes = {}
    for origin in (b"https://127.0.0.1:8000", b"http://127.0.0.1:8000"):
        communicator = WebsocketCommunicator(
            router, "/ws/metrics", headers=[SERVED_ON, (b"origin", origin), (b"cookie", cookie)]
        )
        communicator.scope["scheme"] = "wss"
        connected, _ = await communicator.connect(timeout=5)
        outcomes[origin] = connected
        if connected:
            await communicator.disconnect()
    assert outcomes == {b"https://127.0.0.1:8000": True, b"http://127.0.0.1:8000": False}

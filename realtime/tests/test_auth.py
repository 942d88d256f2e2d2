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


@database_sync_to_async
def session_cookie_for(user):
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}".encode()


async def open_socket(path="/ws/metrics", headers=()):
    communicator = WebsocketCommunicator(router, path, headers=list(headers))
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

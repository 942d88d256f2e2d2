"""Who may open a socket: origin check, then session cookie or API token.

A browser always sends ``Origin``; a cross-site page could ride a staff
member's cookie, so a foreign origin is refused at the handshake. A handshake
without ``Origin`` is a script: it must bring a token, because a cookie alone
proves nothing about who is driving it.
"""

from typing import Any
from urllib.parse import urlsplit

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from channels.sessions import SessionMiddlewareStack
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host

from accounts.tokens import authenticate_key, key_from_authorization, record_failure, too_many_failures
from realtime.transport import ASGIApp


def origin_allowed(origin: bytes | str) -> bool:
    """True when ``origin`` (bytes or str from the header) names an allowed host."""
    if isinstance(origin, bytes):
        origin = origin.decode("latin-1")
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parts = urlsplit(origin)
        hostname = parts.hostname
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not hostname:
        return False
    if ":" in hostname:  # IPv6 literal: ALLOWED_HOSTS writes it bracketed
        hostname = f"[{hostname}]"
    return validate_host(hostname, settings.ALLOWED_HOSTS)


@database_sync_to_async  # type: ignore[untyped-decorator]  # channels ships no types
def _user_for_key(key: str | None, client_address: str) -> AbstractBaseUser | None:
    if too_many_failures(client_address):
        return None
    token = authenticate_key(key) if key else None
    if token is None:
        record_failure(client_address)
        return None
    user: AbstractBaseUser = token.user
    return user


class CredentialsMiddleware:
    """Sets ``scope["user"]`` from a token, or from the session when a browser origin is present.

    ``scope["auth_failure"]`` says why nobody is signed in, for the consumer's
    ``AUTHENTICATION_FAILED`` message.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", ()))
        origin = headers.get(b"origin")
        if origin is not None and not origin_allowed(origin):
            return await WebsocketDenier()(scope, receive, send)
        scope = dict(scope)
        authorization = headers.get(b"authorization")
        user: Any = AnonymousUser()
        failure: str | None = None
        if authorization is not None:
            key = key_from_authorization(authorization.decode("latin-1"))
            client_address = (scope.get("client") or ("", 0))[0]
            found = await _user_for_key(key, client_address)
            if found is None:
                failure = "Invalid, revoked or malformed API token."
            else:
                user = found
        elif origin is not None:
            user = await get_user(scope)
            if not user.is_authenticated:
                failure = "Not signed in: log in to the console first."
        else:
            failure = "A connection without an Origin header needs an API token (Authorization: Token <key>)."
        scope["user"] = user
        scope["auth_failure"] = failure
        return await self.app(scope, receive, send)


def websocket_auth(app: ASGIApp) -> ASGIApp:
    """Cookie and session parsing (from Channels), then our credential rules."""
    stack: ASGIApp = SessionMiddlewareStack(CredentialsMiddleware(app))
    return stack

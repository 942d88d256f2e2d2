"""Who may open a socket: origin check, then session cookie or API token.

A browser always sends ``Origin``; a cross-site page could ride a staff
member's cookie, so a foreign origin is refused at the handshake. A handshake
without ``Origin`` is a script: it must bring a token, because a cookie alone
proves nothing about who is driving it.
"""

import logging
from typing import Any
from urllib.parse import urlsplit

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from channels.sessions import SessionMiddlewareStack
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

from accounts.models import ApiToken
from accounts.tokens import authenticate_key, key_from_authorization, record_failure, too_many_failures
from realtime.transport import ASGIApp

logger = logging.getLogger(__name__)


def origin_allowed(origin: bytes | str, scope: dict[str, Any]) -> bool:
    """True when ``origin`` (the header's bytes or str) is the console's own origin or a trusted one.

    Django's CSRF origin rule, applied to the handshake: the origin's scheme,
    host and port must be those the socket was opened on (its ``Host``
    header, which must be in ``ALLOWED_HOSTS``, and ``wss``/``https`` when the
    connection is secure), or one of ``CSRF_TRUSTED_ORIGINS`` (which may name
    ``https://*.example.com`` for subdomains).
    """
    if isinstance(origin, bytes):
        origin = origin.decode("latin-1")
    served_on = _served_origin(scope)
    if served_on is not None and origin == served_on:
        return True
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parts = urlsplit(origin)
        netloc = parts.netloc
    except ValueError:
        return False
    patterns = [urlsplit(trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS if "*" in trusted]
    return any(
        pattern.scheme == parts.scheme and is_same_domain(netloc, pattern.netloc.partition("*")[2])
        for pattern in patterns
    )


def _served_origin(scope: dict[str, Any]) -> str | None:
    """``scheme://host[:port]`` of the connection, as its ``Host`` header names it; None for a host not allowed."""
    headers = dict(scope.get("headers", ()))
    host = headers.get(b"host", b"").decode("latin-1")
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return f"{'https' if _is_secure(scope, headers) else 'http'}://{host}"


def _is_secure(scope: dict[str, Any], headers: dict[bytes, bytes]) -> bool:
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, value = proxy_header
        forwarded = headers.get(name.removeprefix("HTTP_").replace("_", "-").lower().encode(), b"")
        return bool(forwarded.decode("latin-1").split(",")[0].strip() == value)
    return False


@database_sync_to_async  # type: ignore[untyped-decorator]  # channels ships no types
def _token_for_key(key: str | None, client_address: str) -> "ApiToken | None":
    if too_many_failures(client_address):
        return None
    token = authenticate_key(key) if key else None
    if token is None:
        record_failure(client_address)
    return token


class CredentialsMiddleware:
    """Sets ``scope["user"]`` from a token, or from the session when a browser origin is present.

    ``scope["auth_failure"]`` says why nobody is signed in, for the consumer's
    ``AUTHENTICATION_FAILED`` message; ``scope["api_token_id"]`` or
    ``scope["session_key"]`` names the credential, for :mod:`realtime.access`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", ()))
        origin = headers.get(b"origin")
        if origin is not None and not origin_allowed(origin, scope):
            return await WebsocketDenier()(scope, receive, send)
        scope = dict(scope)
        authorization = headers.get(b"authorization")
        user: Any = AnonymousUser()
        failure: str | None = None
        token_id: int | None = None
        session_key: str | None = None
        try:
            if authorization is not None:
                key = key_from_authorization(authorization.decode("latin-1"))
                client_address = (scope.get("client") or ("", 0))[0]
                token = await _token_for_key(key, client_address)
                if token is None:
                    failure = "Invalid, revoked, expired or malformed API token."
                else:
                    user, token_id = token.user, token.pk
            elif origin is not None:
                user = await get_user(scope)
                if user.is_authenticated:
                    session_key = scope["session"].session_key
                else:
                    failure = "Not signed in: log in to the console first."
            else:
                failure = "A connection without an Origin header needs an API token (Authorization: Token <key>)."
        except DatabaseError as error:
            # No answer about the credentials: the consumer says SERVICE_UNAVAILABLE
            # and closes 4503 (the client retries), rather than the server's HTTP 500.
            logger.warning("A WebSocket handshake could not check its credentials: %s", error)
            user, failure = AnonymousUser(), None
            scope["database_unavailable"] = True
        scope["user"] = user
        scope["auth_failure"] = failure
        scope["api_token_id"] = token_id
        scope["session_key"] = session_key
        return await self.app(scope, receive, send)


def websocket_auth(app: ASGIApp) -> ASGIApp:
    """Cookie and session parsing (from Channels), then our credential rules."""
    stack: ASGIApp = SessionMiddlewareStack(CredentialsMiddleware(app))
    return stack

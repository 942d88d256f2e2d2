"""The address a connection really comes from, in one place for throttles, logs and audit.

``X-Forwarded-For`` is believed only when the peer is one of
``OPSCONSOLE_TRUSTED_PROXIES``: anyone else could write any address into it
and so escape a per-address throttle or lockout. The header is read from the
right, nearest hop first, skipping the trusted proxies; the first address
that is not one of them is the client.
"""

from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from django.conf import settings


def _parsed(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip().removeprefix("[").split("]")[0])
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address | None) -> bool:
    return address is not None and any(address in network for network in settings.OPSCONSOLE_TRUSTED_PROXIES)


def client_address(peer: str, forwarded_for: str | None) -> str:
    """The client's address, given the TCP peer and the ``X-Forwarded-For`` header (if any)."""
    if not forwarded_for or not _trusted(_parsed(peer)):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parsed(hop)
        if address is None:
            # A proxy we trust passed on garbage: the last address it vouched for is all we know.
            return peer
        if not _trusted(address):
            return str(address)
        peer = str(address)
    return peer


class ClientAddressMiddleware:
    """ASGI middleware: ``scope["client"]`` becomes the real client, for Django and Channels alike."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] in ("http", "websocket") and settings.OPSCONSOLE_TRUSTED_PROXIES:
            peer, port = scope.get("client") or ("", 0)
            forwarded = [value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"]
            if forwarded:
                real = client_address(peer, b",".join(forwarded).decode("latin-1"))
                if real != peer:
                    scope = {**scope, "client": (real, 0)}
        return await self.app(scope, receive, send)

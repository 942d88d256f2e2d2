"""Where notifications may go, and the connections that make sure of it.

Webhook URLs are http or https; ``OPSCONSOLE_WEBHOOK_DENY_NETWORKS`` is
checked twice: on a literal address when a channel is saved, and on every
address a host name resolves to, just before connecting to it, so a name that
resolves (or re-resolves: DNS rebinding) into a denied network never gets a
request.
"""

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email


class SendError(Exception):
    """A failed attempt, described in our own words (never the remote's), and whether trying again may help."""

    def __init__(self, message: str, *, retry: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.code = code


def is_denied(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return any(ip.version == network.version and ip in network for network in settings.OPSCONSOLE_WEBHOOK_DENY_NETWORKS)


def _literal_denied(host: str) -> bool:
    """A host written as a denied address, or ``localhost`` while loopback is denied."""
    if host == "localhost" or host.endswith(".localhost"):
        return is_denied("127.0.0.1")
    try:
        return is_denied(host)
    except ValueError:
        return False  # a name: checked when connecting


def url_problem(url: str, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    """What is wrong with a notification URL as written, or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "This is not a valid URL."
    if parts.scheme.lower() not in schemes:
        return f"The URL must start with {' or '.join(s + '://' for s in schemes)}."
    if not host:
        return "The URL has no host."
    if _literal_denied(host):
        return f"{host} is in a network notifications may not reach (OPSCONSOLE_WEBHOOK_DENY_NETWORKS)."
    return None


def apprise_problem(url: str) -> str | None:
    import apprise

    if apprise.Apprise.instantiate(url) is None:
        return "Apprise does not understand this URL (see https://github.com/caronc/apprise/wiki)."
    host = urlsplit(url).hostname or ""
    if _literal_denied(host):
        return f"{host} is in a network notifications may not reach (OPSCONSOLE_WEBHOOK_DENY_NETWORKS)."
    return None


def channel_problems(kind: str, url: str, emails: str) -> dict[str, str]:
    """Field → problem for a channel's target; empty when it can be saved."""
    if kind == "webhook":
        problem = url_problem(url) if url else "A webhook needs a URL."
        return {"url": problem} if problem else {}
    if kind == "apprise":
        problem = apprise_problem(url) if url else "An Apprise channel needs an Apprise URL."
        return {"url": problem} if problem else {}
    if kind == "email":
        addresses = [a.strip() for a in emails.replace(",", "\n").splitlines() if a.strip()]
        if not addresses:
            return {"emails": "An e-mail channel needs at least one address."}
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                return {"emails": f"{address!r} is not an e-mail address."}
        return {}
    return {"kind": f"{kind!r} is not a channel kind."}


def connect(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first allowed address of ``host``; denied addresses are never tried."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise SendError(f"The host name {host} could not be resolved.", retry=True) from None
    allowed = [info for info in infos if not is_denied(str(info[4][0]))]
    if not allowed:
        raise SendError(
            f"{host} resolves only to addresses in a denied network (OPSCONSOLE_WEBHOOK_DENY_NETWORKS).", retry=False
        )
    for family, kind, proto, _name, address in allowed:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            continue
        return sock
    # Refused, unreachable and filtered read the same: the log is no port scanner.
    raise SendError(f"Could not connect to {host} port {port}.", retry=True)


class GuardedHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = connect(self.host, self.port, self.timeout or settings.OPSCONSOLE_NOTIFY_TIMEOUT)


class GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int | None = None, *, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)

    def connect(self) -> None:
        sock = connect(self.host, self.port, self.timeout or settings.OPSCONSOLE_NOTIFY_TIMEOUT)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)

"""Who holds the process's open sockets, and ending their access while they are open (contract, section 11).

Credentials are checked at the handshake; afterwards two things can end a
socket. A revocation (a token revoked, a logout, a user deactivated or no
longer staff) is announced once on a control topic that every web process
subscribes to, through the same one-subscription-per-process fan-out as the
events (:mod:`realtime.fanout`), so the principal's sockets close on every
process at once. Announcements are best-effort, like every publish; a
periodic re-check of all open sockets against the database (and a session's
expiry) is the safety net. Neither touches the broadcast path.

The same register counts sockets per user and per address for the caps
``OPSCONSOLE_WS_MAX_PER_USER`` and ``OPSCONSOLE_WS_MAX_PER_ADDRESS``, and all
of them for the process's ceiling. The counts are per process: each process
protects its own memory and file descriptors, which is what the caps are for.
"""

import asyncio
import logging
import resource
from collections import Counter
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction

from realtime import fanout, protocol

logger = logging.getLogger(__name__)

CONTROL = "access"  # the control topic: not an endpoint, no seq, no replay
# File descriptors a process keeps for everything but sockets (Postgres, Redis, HTTP requests, files).
RESERVED_DESCRIPTORS = 128


@dataclass(frozen=True)
class Principal:
    """Who a socket was let in as: the user, and the credential that proved it (a token or a session)."""

    user_id: int
    address: str
    token_id: int | None = None
    session_key: str | None = None


@dataclass(frozen=True)
class Ending:
    """Why a socket's access ends: the close code and what its client is told."""

    close_code: int
    message: str

    @property
    def error_code(self) -> str:
        if self.close_code == protocol.CLOSE_PERMISSION_DENIED:
            return protocol.PERMISSION_DENIED
        return protocol.AUTHENTICATION_FAILED


class AccessHolder(Protocol):
    """A socket as this module sees it (the consumer)."""

    async def end_access(self, ending: Ending) -> None: ...


class _Register:
    """The open sockets of this process and who holds them."""

    def __init__(self) -> None:
        self.sockets: dict[AccessHolder, Principal] = {}
        self.per_user: Counter[int] = Counter()
        self.per_address: Counter[str] = Counter()

    def refusal(self, principal: Principal) -> str | None:
        if len(self.sockets) >= process_ceiling():
            return "This server holds as many sockets as it can; try again later or another server."
        if self.per_user[principal.user_id] >= settings.OPSCONSOLE_WS_MAX_PER_USER:
            return f"This account already has {settings.OPSCONSOLE_WS_MAX_PER_USER} sockets open on this server."
        if self.per_address[principal.address] >= settings.OPSCONSOLE_WS_MAX_PER_ADDRESS:
            return f"This address already has {settings.OPSCONSOLE_WS_MAX_PER_ADDRESS} sockets open on this server."
        return None

    def add(self, consumer: AccessHolder, principal: Principal) -> None:
        self.sockets[consumer] = principal
        self.per_user[principal.user_id] += 1
        self.per_address[principal.address] += 1

    def remove(self, consumer: AccessHolder) -> bool:
        principal = self.sockets.pop(consumer, None)
        if principal is None:
            return False
        _decrement(self.per_user, principal.user_id)
        _decrement(self.per_address, principal.address)
        return True


def _decrement(counter: "Counter[Any]", key: object) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


_register = _Register()
_rechecker: asyncio.Task[None] | None = None


def process_ceiling() -> int:
    """Sockets this process accepts at most: ``OPSCONSOLE_WS_MAX_PER_PROCESS``, else what its fd limit leaves."""
    configured = int(settings.OPSCONSOLE_WS_MAX_PER_PROCESS or 0)
    if configured:
        return configured
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1_000_000
    return max(soft - max(RESERVED_DESCRIPTORS, soft // 10), 1)


class _Gatekeeper:
    """This process's member of the control topic: closes the sockets an announcement names."""

    def offer_event(self, event: Any) -> Awaitable[None] | None:  # an announcement, not an Envelope
        ending = Ending(event["close_code"], event["message"])
        doomed = [consumer for consumer, principal in list(_register.sockets.items()) if _named(principal, event)]
        if not doomed:
            return None
        return _end_all(doomed, ending)


_gatekeeper = _Gatekeeper()


def _named(principal: Principal, announcement: dict[str, Any]) -> bool:
    return (
        principal.user_id == announcement.get("user")
        or (principal.token_id is not None and principal.token_id == announcement.get("token"))
        or (principal.session_key is not None and principal.session_key == announcement.get("session"))
    )


async def _end_all(consumers: Iterable[AccessHolder], ending: Ending) -> None:
    outcomes = await asyncio.gather(*(consumer.end_access(ending) for consumer in consumers), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            logger.error("Could not close a socket whose access ended", exc_info=outcome)


def admit(consumer: AccessHolder, principal: Principal) -> str | None:
    """Count ``consumer`` as open for ``principal``, or say why not (a cap is reached; nothing is counted then).

    Synchronous: the check and the count happen in one turn of the loop.
    """
    refusal = _register.refusal(principal)
    if refusal is None:
        _register.add(consumer, principal)
    return refusal


async def watch(consumer: AccessHolder) -> None:
    """Have ``consumer.end_access(ending)`` awaited when its access ends, on an announcement or a re-check.

    Raises what the layer raises when it cannot subscribe the control topic;
    the socket stays counted until :func:`release`.
    """
    global _rechecker
    await fanout.join(_gatekeeper, CONTROL)
    loop = asyncio.get_running_loop()
    if _rechecker is None or _rechecker.done() or _rechecker.get_loop() is not loop:
        _rechecker = loop.create_task(_recheck_forever(), name="socket-access-recheck")


async def release(consumer: AccessHolder) -> None:
    """Forget ``consumer`` (it closed); the last socket to go ends the control subscription."""
    if _register.remove(consumer) and not _register.sockets:
        await fanout.leave(_gatekeeper, CONTROL)


async def _recheck_forever() -> None:
    from accounts.credentials import endings_for

    while _register.sockets:
        await asyncio.sleep(settings.OPSCONSOLE_WS_RECHECK_INTERVAL)
        held = dict(_register.sockets)
        try:
            endings = await database_sync_to_async(endings_for)(set(held.values()))
        except Exception:
            logger.exception("Could not re-check the credentials of %d open sockets", len(held))
            continue
        for ending, principals in _grouped(endings).items():
            await _end_all([consumer for consumer, principal in held.items() if principal in principals], ending)


def _grouped(endings: dict[Principal, Ending]) -> dict[Ending, set[Principal]]:
    grouped: dict[Ending, set[Principal]] = {}
    for principal, ending in endings.items():
        grouped.setdefault(ending, set()).add(principal)
    return grouped


def announce_end(
    *, close_code: int, message: str, user: int | None = None, token: int | None = None, session: str | None = None
) -> None:
    """Close, on every web process, the sockets of ``user``, or let in with ``token`` or ``session``.

    Sent once the current transaction commits (at once outside one).
    Best-effort: a layer outage is logged and the periodic re-check closes
    the sockets instead.
    """
    from realtime.publish import send_control

    announcement = {"close_code": close_code, "message": message, "user": user, "token": token, "session": session}

    def send() -> None:
        try:
            send_control(CONTROL, announcement)
        except Exception:
            logger.exception("Could not announce the end of access for %s", announcement)

    transaction.on_commit(send)

"""The ``/ws/alerts``, ``/ws/metrics`` and ``/ws/status`` endpoints.

Thin on purpose: ``protocol`` validates frames, ``filters`` decides what a
socket wants, ``delivery`` paces what it gets; this module only wires them.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError

from opsconsole import telemetry
from realtime import access, fanout, layer_watch, protocol, stats
from realtime.delivery import Outbox, RateLimiter, TooFarBehind
from realtime.envelope import Envelope, envelope, utc_now_iso
from realtime.frames import Frame
from realtime.history import recent_history
from realtime.relay import catch_up_soon, degraded_streams
from realtime.replay import BUFFER_ERRORS, cursor_for, replay_since
from realtime.subscriptions import Subscription
from realtime.topics import ALERTS, METRICS, STATUS
from realtime.transport import WriteFlow

logger = logging.getLogger(__name__)
CLOSE_GRACE_SECONDS = 10  # how long a dropped peer has to read its resync_required
LAYER_LOST = "The console's message broker does not answer; reconnect in a few seconds and resume."
DATABASE_LOST = "The console's database does not answer; reconnect in a few seconds and resume."
RESUMES_AT_ONCE = 4  # per process: a burst of reconnects must not starve the rest of the server
_resume_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def _resume_slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _resume_slots:
        _resume_slots.clear()  # tests open many loops; a server has one
        _resume_slots[loop] = asyncio.Semaphore(RESUMES_AT_ONCE)
    return _resume_slots[loop]


def _position_and_health(topic: str) -> tuple[int, str | None]:
    """The topic's latest sent seq, and why its stream is degraded (None when it is not)."""
    return cursor_for(topic).published_seq, degraded_streams().get(topic)


class StreamConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels ships no types
    """One socket on one topic: authenticate, then serve the protocol and push the topic's events."""

    topic: str  # set by each endpoint's subclass
    # No channel of its own: events come through the process's one
    # subscription per topic (realtime.fanout), not a subscription per socket.
    channel_layer_alias = None
    flow: WriteFlow | None = None  # the send-buffer watch (realtime.transport), once the socket is let in
    admitted = False  # counted in realtime.access, until it disconnects
    access_ended = False

    @property
    def endpoint(self) -> str:
        """The path its metrics are labelled with (``/ws/alerts``)."""
        return f"/ws/{self.topic}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Redis can fail under any handler after the handshake was accepted
        # (joining the topic, reading a seq, a resume): answer the client in
        # the protocol rather than with a bare 1011 from the server.
        try:
            await super().__call__(scope, receive, send)
        except BUFFER_ERRORS as error:
            logger.warning("Closing a socket on %s: the channel layer is unavailable (%s)", self.topic, error)
            await send({"type": "websocket.send", "text": protocol.encode(self._layer_lost_frame())})
            await send({"type": "websocket.close", "code": protocol.CLOSE_SERVICE_UNAVAILABLE})
        except DatabaseError as error:
            logger.warning("Closing a socket on %s: the database is unavailable (%s)", self.topic, error)
            frame = protocol.error_frame(
                protocol.SERVICE_UNAVAILABLE, DATABASE_LOST, retry_after=layer_watch.RECONNECT_AFTER_MS
            )
            await send({"type": "websocket.send", "text": protocol.encode(frame)})
            await send({"type": "websocket.close", "code": protocol.CLOSE_SERVICE_UNAVAILABLE})

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch first closes stale database connections, a
        # hop into its one shared sync thread, before every message. Pushed
        # events no longer come through here (realtime.fanout hands them to
        # the Outbox), but connects and client frames do, and these handlers
        # reach the database only through database_sync_to_async, which closes
        # stale connections itself: the hop would only delay every frame.
        # A private API of Channels' (docs/internals.md, channels-dispatch).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    def _layer_lost_frame(self) -> Envelope:
        return protocol.error_frame(
            protocol.SERVICE_UNAVAILABLE, LAYER_LOST, retry_after=layer_watch.RECONNECT_AFTER_MS
        )

    async def layer_lost(self, message: str = LAYER_LOST) -> None:
        """The watcher found Redis gone or refusing writes: tell the client, and close so it reconnects and resumes."""
        self.outbox.close()
        await self.send_frame(
            protocol.error_frame(protocol.SERVICE_UNAVAILABLE, message, retry_after=layer_watch.RECONNECT_AFTER_MS)
        )
        await self.close(code=protocol.CLOSE_SERVICE_UNAVAILABLE)

    async def _unavailable(self, message: str) -> None:
        await self.send_frame(
            protocol.error_frame(protocol.SERVICE_UNAVAILABLE, message, retry_after=layer_watch.RECONNECT_AFTER_MS)
        )
        await self.close(code=protocol.CLOSE_SERVICE_UNAVAILABLE)

    async def connect(self) -> None:
        await self.accept()
        if self.scope.get("database_unavailable"):
            await self._unavailable(DATABASE_LOST)
            return
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            reason = self.scope.get("auth_failure") or "Authentication required."
            await self.send_frame(protocol.error_frame(protocol.AUTHENTICATION_FAILED, reason))
            await self.close(code=protocol.CLOSE_AUTHENTICATION_FAILED)
            return
        if not (user.is_active and user.is_staff):
            await self.send_frame(
                protocol.error_frame(protocol.PERMISSION_DENIED, "The console's streams are for staff accounts.")
            )
            await self.close(code=protocol.CLOSE_PERMISSION_DENIED)
            return
        principal = access.Principal(
            user_id=user.pk,
            address=(self.scope.get("client") or ("", 0))[0],
            token_id=self.scope.get("api_token_id"),
            session_key=self.scope.get("session_key"),
        )
        refusal = access.admit(self, principal)
        if refusal is not None:
            await self.send_frame(protocol.error_frame(protocol.TOO_MANY_CONNECTIONS, refusal))
            await self.close(code=protocol.CLOSE_TOO_MANY_CONNECTIONS)
            return
        # Before the socket counts or joins: a stream Redis refuses is an outage, said at once.
        latest, degraded = await database_sync_to_async(_position_and_health)(self.topic)
        if degraded is not None:
            catch_up_soon()  # Redis may take writes again: the next handshake finds out
            await self._unavailable(layer_watch.STREAM_DEGRADED)
            return
        self.admitted = True
        try:
            await access.watch(self)
        except BaseException:
            await self._release()
            raise
        self.client_id = f"client_{uuid.uuid4().hex[:12]}"
        self.subscription = Subscription()
        self.flow = WriteFlow.attach(self.scope)
        self.outbox = Outbox(self.send_encoded, flow=self.flow, tally=telemetry.delivery_tally(self.endpoint))
        self.limiter = RateLimiter()
        # Events offered from the moment the socket joins wait until its
        # connection frame is out: that frame comes first on every socket.
        self.outbox.hold()
        await fanout.join(self, self.topic)
        self.joined = True
        layer_watch.watch(self)
        stats.count("connected_sockets")
        telemetry.ws_sockets.labels(self.endpoint).inc()
        stats.ensure_reporting()
        stats.report_soon()
        # Read after joining: every event after this seq is published after the
        # join, so it reaches this socket.
        latest, _ = await database_sync_to_async(_position_and_health)(self.topic)
        await self.send_frame(
            envelope(
                "connection",
                {"status": "connected", "client_id": self.client_id, "server_time": utc_now_iso(), "seq": latest},
            )
        )
        await self.outbox.release(covered_through=None)

    async def end_access(self, ending: access.Ending) -> None:
        """The credentials this socket was let in with no longer hold (realtime.access): say so, and close."""
        if self.access_ended:
            return
        self.access_ended = True
        await self._release()  # no longer counted, whenever the peer finishes closing
        if hasattr(self, "outbox"):
            self.outbox.close()
        await self.send_frame(protocol.error_frame(ending.error_code, ending.message))
        await self.close(code=ending.close_code)

    async def _release(self) -> None:
        if self.admitted:
            self.admitted = False
            try:
                await access.release(self)
            except BUFFER_ERRORS as error:  # the layer is down and is reset when that is noticed
                logger.info("Could not leave the control topic: %s", error)

    async def disconnect(self, code: int) -> None:
        await self._release()
        if getattr(self, "joined", False):
            self.outbox.close()
            layer_watch.unwatch(self)
            stats.count("connected_sockets", -1)
            telemetry.ws_sockets.labels(self.endpoint).dec()
            stats.report_soon()
            try:
                await fanout.leave(self, self.topic)
            except BUFFER_ERRORS as error:  # the layer is down and is reset when that is noticed
                logger.info("Could not leave %s: %s", self.topic, error)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        stats.count("messages_in")
        if not hasattr(self, "limiter"):
            return  # refused at connect; the close is on its way
        allowed, retry_after = self.limiter.allow()
        if not allowed:
            await self.send_frame(
                protocol.error_frame(
                    protocol.RATE_LIMIT_EXCEEDED,
                    "More than 20 messages a second; this one was dropped.",
                    retry_after=retry_after,
                )
            )
            return
        try:
            message = protocol.parse_frame(self.topic, text_data, bytes_data)
        except protocol.ProtocolError as error:
            await self.send_frame(protocol.error_frame(error.code, error.message))
            return
        await getattr(self, f"on_{message.type}")(message.data)

    async def on_ping(self, data: dict[str, Any]) -> None:
        await self.send_frame(envelope("pong"))

    async def on_subscribe(self, data: dict[str, Any]) -> None:
        self.subscription.subscribe(data.get("events"), data.get("filters"))
        await self.send_frame(envelope("subscription", self.subscription.describe()))

    async def on_unsubscribe(self, data: dict[str, Any]) -> None:
        self.subscription.unsubscribe(data["events"])
        await self.send_frame(envelope("unsubscription", {"removed": data["events"], **self.subscription.describe()}))

    async def on_set_interval(self, data: dict[str, Any]) -> None:
        await self.outbox.flush()
        self.outbox.interval = data["ms"] / 1000
        await self.send_frame(envelope("ack", {"action": "set_interval", "ms": data["ms"]}))

    async def on_request_data(self, data: dict[str, Any]) -> None:
        series = await database_sync_to_async(recent_history)(
            data["metrics"], data["tags"], data["history_minutes"], data["agg"]
        )
        await self.send_frame(
            envelope("data", {"series": series, "history_minutes": data["history_minutes"], "agg": data["agg"]})
        )

    async def on_resume(self, data: dict[str, Any]) -> None:
        since = data["since"]
        # Events already queued, and those the timer would send while the
        # stream is read, wait behind the replay; the outbox then drops the
        # ones the replay covered, so each missed event arrives once, in order.
        self.outbox.hold()
        covered = since
        try:
            async with _resume_slot():
                replay = await database_sync_to_async(replay_since)(self.topic, since)
            if isinstance(replay, str):
                await self.send_frame(envelope("resync_required", {"since": since, "reason": replay}))
                return
            replayed = [
                selected for event in replay.events if (selected := self.subscription.select(event)) is not None
            ]
            for event in replayed:
                await self.send_frame(event)
            covered = replay.seq
            await self.send_frame(
                envelope(
                    "resumed",
                    {
                        "since": since,
                        "count": len(replayed),
                        "seq": covered,
                        "source": replay.source,
                    },
                )
            )
        finally:
            await self.outbox.release(covered_through=covered)

    def offer_event(self, event: Envelope) -> Awaitable[None] | None:
        """Take a published event (from realtime.fanout); returns the sending to await when some is due now.

        Synchronous, like the outbox's offer: on the broadcast path this runs
        once per socket and event, and usually only queues.
        """
        if self.outbox.closed:
            stats.count("dropped")  # given up on: its close is on the way
            return None
        selected = self.subscription.select(event)
        if selected is None:
            return None
        try:
            return self.outbox.offer(selected)
        except TooFarBehind as behind:
            return self._give_up(behind, selected)

    async def _give_up(self, behind: TooFarBehind, event: Envelope) -> None:
        stats.count("dropped", behind.dropped)
        await self.send_frame(
            envelope(
                "resync_required",
                {
                    "seq": event["meta"].get("seq"),
                    "reason": (
                        f"This connection fell more than {behind.dropped - 1} events behind; "
                        "reconnect and reload over REST."
                    ),
                },
            )
        )
        # A peer that reads again soon gets this frame and the close
        # code; the outbox holds nothing more for it meanwhile.
        if self.flow is not None:
            self.flow.allow_slow_close(CLOSE_GRACE_SECONDS)
        await self.close(code=protocol.CLOSE_TOO_SLOW)

    async def send_frame(self, frame: Envelope) -> None:
        await self.send_encoded(Frame.of(frame))

    async def send_encoded(self, frame: Frame) -> None:
        """Send a :class:`realtime.frames.Frame`; a pushed one is encoded once for all the sockets it goes to."""
        if frame.size > protocol.MAX_SERVER_FRAME_BYTES:
            # The client would close the socket over it; one oversized event must not end the stream.
            logger.error("Not sending a %s frame of %d bytes: over the clients' message limit", frame.type, frame.size)
            stats.count("dropped")
            return
        stats.count("messages_out")
        if self.flow is None or not self.flow.write(frame):
            await self.send(text_data=frame.text)


class AlertsConsumer(StreamConsumer):
    topic = ALERTS


class MetricsConsumer(StreamConsumer):
    topic = METRICS


class StatusConsumer(StreamConsumer):
    topic = STATUS

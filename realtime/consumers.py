"""The ``/ws/alerts`` and ``/ws/metrics`` endpoints."""

import uuid

from channels.generic.websocket import AsyncWebsocketConsumer

from channels.db import database_sync_to_async

from realtime import protocol, stats
from realtime.envelope import envelope, utc_now_iso
from realtime.replay import replay_buffer
from realtime.topics import ALERTS, METRICS, group_name


class StreamConsumer(AsyncWebsocketConsumer):
    """One socket on one topic: authenticate, then push the topic's events."""

    topic = None

    async def connect(self):
        await self.accept()
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
        self.client_id = f"client_{uuid.uuid4().hex[:12]}"
        self.group = group_name(self.topic)
        await self.channel_layer.group_add(self.group, self.channel_name)
        stats.count("connected_sockets")
        stats.ensure_reporting()
        latest = await database_sync_to_async(replay_buffer().latest_seq)(self.topic)
        await self.send_frame(
            envelope(
                "connection",
                {"status": "connected", "client_id": self.client_id, "server_time": utc_now_iso(), "seq": latest},
            )
        )

    async def disconnect(self, code):
        group = getattr(self, "group", None)
        if group:
            stats.count("connected_sockets", -1)
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        stats.count("messages_in")
        try:
            message = protocol.parse_frame(text_data, bytes_data)
        except protocol.ProtocolError as error:
            await self.send_frame(protocol.error_frame(error.code, error.message))
            return
        if message.type == "ping":
            await self.send_frame(envelope("pong"))

    async def stream_event(self, message):
        await self.send_frame(message["event"])

    async def send_frame(self, frame):
        stats.count("messages_out")
        await self.send(text_data=protocol.encode(frame))


class AlertsConsumer(StreamConsumer):
    topic = ALERTS


class MetricsConsumer(StreamConsumer):
    topic = METRICS

"""The ways an event reaches the sockets: recorded with its change (durable), or sent as it is (snapshots)."""

import logging
from functools import lru_cache
from typing import Any, cast

import redis
from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.db import DatabaseError, transaction

from opsconsole import telemetry
from realtime.envelope import Envelope, envelope
from realtime.models import StreamEvent
from realtime.relay import relay, relay_after_commit
from realtime.replay import event_envelope, stream_position
from realtime.topics import DURABLE_TYPES, EVENT_TYPES, POSITION, group_name, is_durable

logger = logging.getLogger(__name__)


def record_event(topic: str, type_: str, data: Any) -> None:
    """Store a durable event in the current transaction; sockets hear of it once, and only if, it commits.

    What services call for every change they make: the event is a row
    written with the change, so neither a rollback (nothing is sent) nor a
    process dying right after the commit (the periodic relay sends it) can
    part the two. The commit starts a relay pass (``realtime.relay``).
    """
    if not is_durable(topic, type_):
        raise ValueError(f"{type_!r} is not a durable event of topic {topic!r}")
    StreamEvent.objects.create(topic=topic, type=type_, data=data)
    relay_after_commit(topic)


def publish(topic: str, type_: str, data: Any, *, at_seq: int | None = None) -> Envelope | None:
    """Send an event now; returns it, or None when it could not be sent.

    A periodic snapshot (``alert_summary``, ``performance``, ``metrics``)
    goes straight to the layer with ``meta.at_seq``, the latest seq sent
    on its topic (pass ``at_seq`` read before the snapshot's data was). A
    lost snapshot is logged, never raised: the next one replaces it. A
    durable type is recorded in a transaction of its own and relayed at
    once, for callers with no change of their own to record it with.
    """
    if type_ not in EVENT_TYPES[topic]:
        raise ValueError(f"{type_!r} is not an event of topic {topic!r}")
    if is_durable(topic, type_):
        with transaction.atomic():
            row = StreamEvent.objects.create(topic=topic, type=type_, data=data)
        relay(topic)
        row.refresh_from_db()
        return event_envelope(row) if row.seq is not None else None
    try:
        position = stream_position(topic) if at_seq is None else at_seq
    except DatabaseError as error:  # a host snapshot still goes out while the database is away
        logger.warning("No stream position for %s: %s", topic, error)
        position = None
    return _send_snapshot(topic, envelope(type_, data, meta={"at_seq": position or 0}))


def broadcast_positions() -> dict[str, int]:
    """The periodic ``position`` of every durable endpoint, to every socket on it; returns what was sent.

    One read per topic, whatever the number of sockets: each socket, whatever
    it subscribed to, learns the latest seq at least every
    ``OPSCONSOLE_SUMMARY_INTERVAL`` seconds, so a lost event is noticed.
    """
    sent = {}
    for topic in DURABLE_TYPES:
        seq = stream_position(topic)
        if _send_snapshot(topic, envelope(POSITION, {"seq": seq}, meta={"at_seq": seq})) is not None:
            sent[topic] = seq
    return sent


def _send_snapshot(topic: str, event: Envelope) -> Envelope | None:
    type_ = event["type"]
    try:
        group_send(group_name(topic), {"type": "stream.event", "event": event})
    except Exception as error:  # noqa: BLE001 - a snapshot is best-effort by design
        telemetry.publish_failures.labels(topic).inc()
        logger.warning("Could not publish %s on %s: %s", type_, topic, error)
        return None
    telemetry.events_published.labels(topic, type_).inc()
    return event


def send_control(topic: str, message: dict[str, Any]) -> None:
    """Send ``message`` to every process subscribed to the control ``topic``: no seq, no replay, no socket sees it.

    Raises what the layer raises; the caller decides what a lost message costs.
    """
    group_send(group_name(topic), {"type": "stream.event", "event": message})


@lru_cache(maxsize=4)
def _publisher(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def group_send(group: str, message: dict[str, Any]) -> None:
    """Hand ``message`` to the layer's ``group``; raises what the layer raises."""
    layer = get_channel_layer()
    config = cast(dict[str, Any], settings.CHANNEL_LAYERS[DEFAULT_CHANNEL_LAYER].get("CONFIG", {}))
    hosts = config.get("hosts", [])
    if isinstance(layer, RedisPubSubChannelLayer) and len(hosts) == 1 and isinstance(hosts[0], str):
        # The layer's group_send is a coroutine, and from a request's thread
        # async_to_sync runs it on the event loop that feeds the sockets: each
        # write waited for that loop's turn (~3.5 ms with 1,000 sockets,
        # bench/load.py). This is the same PUBLISH, of the same bytes to the
        # channel the layer subscribes for the group, sent from this thread.
        # realtime/tests/test_publish.py holds it to what the layer receives.
        channel = f"{config.get('prefix', 'asgi')}__group__{group}"
        _publisher(hosts[0]).publish(channel, layer.serialize(message))
    else:
        async_to_sync(layer.group_send)(group, message)

"""The one way an event reaches the sockets."""

import logging
from functools import lru_cache
from typing import Any, cast

import redis
from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.db import transaction

from opsconsole import telemetry
from realtime.envelope import Envelope, envelope
from realtime.replay import replay_buffer
from realtime.topics import EVENT_TYPES, group_name

logger = logging.getLogger(__name__)

# Topics on which a publish from this process failed since its last success.
_lost_on: set[str] = set()


def publish(topic: str, type_: str, data: Any) -> Envelope | None:
    """Number, keep and send an event to every socket subscribed to ``topic``.

    Call it after the change it reports is committed (``transaction.on_commit``):
    a socket must never hear of a write that was rolled back. Delivery is
    best-effort: a layer outage is logged, never raised into the caller whose
    write has already succeeded. The next event that does get through tells
    the replay buffer it cannot vouch for what came before, so a client that
    resumes from before the outage is answered from the durable event log.
    Returns the event, or None if it could not be numbered.
    """
    if type_ not in EVENT_TYPES[topic]:
        raise ValueError(f"{type_!r} is not an event of topic {topic!r}")
    event = envelope(type_, data)
    try:
        replay_buffer().append(topic, event, after_a_loss=topic in _lost_on)
        _lost_on.discard(topic)
        _group_send(group_name(topic), {"type": "stream.event", "event": event})
    except Exception as error:
        _lost_on.add(topic)
        telemetry.publish_failures.labels(topic).inc()
        if "seq" in event["meta"]:
            logger.exception("Could not send %s on %s", type_, topic)
        else:
            logger.warning("Could not publish %s on %s: %s", type_, topic, error)
            return None
    else:
        telemetry.events_published.labels(topic, type_).inc()
    return event


def publish_on_commit(topic: str, type_: str, data: Any) -> None:
    """Publish once the current transaction commits; never if it rolls back.

    What services call for every change they make: a socket must never hear
    of a write that did not happen (Zulip's ``send_event_on_commit``).
    """
    transaction.on_commit(lambda: publish(topic, type_, data))


def send_control(topic: str, message: dict[str, Any]) -> None:
    """Send ``message`` to every process subscribed to the control ``topic``: no seq, no replay, no socket sees it.

    Raises what the layer raises; the caller decides what a lost message costs.
    """
    _group_send(group_name(topic), {"type": "stream.event", "event": message})


@lru_cache(maxsize=4)
def _publisher(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _group_send(group: str, message: dict[str, Any]) -> None:
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

"""One channel-layer subscription per process and topic, handed on to the process's sockets.

A socket that joined the topic's group itself would make the layer decode
every event once per socket and wake a task per socket to dispatch it: with
500 sockets on a process that cost ~50 ms of CPU per event, and at 50 events a
second more than a core (``bench/load.py``). Here each process receives an
event once, decodes it once, and offers it to each of its sockets in turn,
in the order published; what a socket then does with it (filter, merge into
a batch, hold for a slow reader) is its own outbox's business.
"""

import asyncio
import logging
import weakref
from collections.abc import Awaitable
from typing import Any, Protocol

from channels.layers import get_channel_layer

from realtime.envelope import Envelope
from realtime.topics import group_name

logger = logging.getLogger(__name__)


class EventTaker(Protocol):
    """A socket as the fan-out sees it (the consumer)."""

    def offer_event(self, event: Envelope, /) -> Awaitable[None] | None: ...


# Per channel layer (tests make one per event loop), the topic's fan-out.
_fanouts: "weakref.WeakKeyDictionary[Any, dict[str, Fanout]]" = weakref.WeakKeyDictionary()


class Fanout:
    def __init__(self, layer: Any, topic: str) -> None:  # a Channels layer: untyped
        self.layer = layer
        self.topic = topic
        # consumer -> None: offered events in the order they joined, left in O(1)
        self.members: dict[EventTaker, None] = {}
        self.channel: str | None = None
        self._relay: asyncio.Task[None] | None = None
        # The subscription under way or done; sockets joining meanwhile wait for it.
        self.subscribed: asyncio.Future[None] = asyncio.ensure_future(self._subscribe())

    async def _subscribe(self) -> None:
        self.channel = await self.layer.new_channel("fanout.")
        await self.layer.group_add(group_name(self.topic), self.channel)
        self._relay = asyncio.get_running_loop().create_task(self._relay_forever(), name=f"fanout-{self.topic}")

    async def _relay_forever(self) -> None:
        while True:
            event = (await self.layer.receive(self.channel))["event"]
            for member in list(self.members):
                try:
                    sending = member.offer_event(event)
                    if sending is not None:
                        await sending
                except Exception:
                    logger.exception("Could not hand an event to a socket on %s", self.topic)

    def stop(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
            self._relay = None


async def join(consumer: EventTaker, topic: str) -> None:
    """Have ``consumer.offer_event`` called with every event published on ``topic`` from now on.

    ``offer_event(event)`` returns None or an awaitable, awaited before the
    next socket is offered the event, so each socket's frames keep their order.

    Raises what the layer raises when it cannot subscribe (Redis away); the
    consumer then has not joined.
    """
    layer = get_channel_layer()
    fanouts = _fanouts.setdefault(layer, {})
    fanout = fanouts.get(topic)
    if fanout is None:
        fanout = fanouts[topic] = Fanout(layer, topic)
    try:
        await asyncio.shield(fanout.subscribed)
    except BaseException:
        if fanouts.get(topic) is fanout and not fanout.members:
            del fanouts[topic]  # the next socket tries again
        raise
    fanout.members[consumer] = None


async def leave(consumer: EventTaker, topic: str) -> None:
    """Stop offering events to ``consumer``; the last socket to leave ends the process's subscription."""
    layer = get_channel_layer()
    fanout = _fanouts.get(layer, {}).get(topic)
    if fanout is None or consumer not in fanout.members:
        return
    del fanout.members[consumer]
    if not fanout.members:
        del _fanouts[layer][topic]
        fanout.stop()
        await layer.group_discard(group_name(topic), fanout.channel)


def forget_all() -> None:
    """Drop every subscription of this process (the layer is being reset): the next socket subscribes afresh."""
    for fanouts in list(_fanouts.values()):
        for fanout in fanouts.values():
            fanout.stop()
        fanouts.clear()

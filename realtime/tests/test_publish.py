"""``publish`` hands each event to the channel layer's group, whichever layer is configured."""

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from realtime.publish import publish
from realtime.topics import ALERTS, group_name

pytestmark = pytest.mark.django_db(transaction=True)


def _layers():
    layers: list[dict[str, Any]] = [{"BACKEND": "channels.layers.InMemoryChannelLayer"}]
    if settings.REDIS_URL:
        # Under a prefix of its own, so no other test's subscriber hears it.
        layers.append(
            {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": f"{settings.OPSCONSOLE_REDIS_PREFIX}-publish-test"},
            }
        )
    return layers


@pytest.mark.parametrize("layer_config", _layers(), ids=lambda config: config["BACKEND"].rsplit(".", 1)[-1])
async def test_a_published_event_reaches_a_channel_in_the_topics_group_numbered_and_whole(settings, layer_config):
    settings.CHANNEL_LAYERS = {"default": layer_config}
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group_name(ALERTS), channel)
    try:
        sent = await sync_to_async(publish)(ALERTS, "alert", {"id": 7, "title": "disk <full>", "labels": {"a": "ü"}})
        received = await asyncio.wait_for(layer.receive(channel), timeout=5)
    finally:
        await layer.group_discard(group_name(ALERTS), channel)
    assert received == {"type": "stream.event", "event": sent}
    assert received["event"]["meta"]["seq"] > 0
    assert received["event"]["data"] == {"id": 7, "title": "disk <full>", "labels": {"a": "ü"}}

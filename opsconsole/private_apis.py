"""Private code of other libraries that the console relies on: what to re-check when one is upgraded.

``docs/internals.md`` explains each entry (where, why, what breaks);
``tests/test_private_apis.py`` fails when an installed version differs from
the one an entry was checked against, or when a name it relies on is gone.
After re-checking an entry against a new release, update its ``checked``.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PrivateApi:
    id: str  # the heading of its section in docs/internals.md
    distribution: str  # as importlib.metadata knows it
    checked: str  # the version the entry was last checked against
    source: str  # "module:Qualified.name" whose source must mention every name in `relies_on`
    relies_on: tuple[str, ...]


PRIVATE_APIS = (
    PrivateApi(
        "twisted-write-through",
        "Twisted",
        "26.10.0",
        "twisted.internet.abstract:FileDescriptor",
        ("_tempDataLen", "offset", "dataBuffer", "_writeDisconnected", "writeSomeData", "disconnecting"),
    ),
    PrivateApi(
        "twisted-producer-swap",
        "Twisted",
        "26.10.0",
        "twisted.internet.abstract:FileDescriptor",
        ("producer", "registerProducer", "unregisterProducer", "pauseProducing", "resumeProducing"),
    ),
    PrivateApi(
        "autobahn-prepared-write",
        "autobahn",
        "26.10.2",
        "autobahn.websocket.protocol:WebSocketProtocol",
        ("_perMessageCompress", "send_queue", "STATE_OPEN", "sendPreparedMessage", "closeHandshakeTimeout"),
    ),
    PrivateApi(
        "autobahn-prepared-payload",
        "autobahn",
        "26.10.2",
        "autobahn.websocket.protocol:PreparedMessage",
        ("payloadHybi",),
    ),
    PrivateApi(
        "daphne-send-partial",
        "daphne",
        "4.2.3",
        "daphne.server:Server",
        ("partial(self.handle_reply, protocol)",),
    ),
    PrivateApi(
        "django-asgi-handler",
        "Django",
        "5.2.19",
        "django.core.handlers.asgi:ASGIHandler",
        ("self.load_middleware(is_async=True)", "await self.get_response_async(request)", "streaming_content"),
    ),
    PrivateApi(
        "django-base-handler",
        "Django",
        "5.2.19",
        "django.core.handlers.base:BaseHandler",
        ("def load_middleware(self, is_async=False)", "async def get_response_async", "def get_response(self"),
    ),
    PrivateApi(
        "django-redis-cache-client",
        "Django",
        "5.2.19",
        "django.core.cache.backends.redis:RedisCacheClient",
        ("def _get_connection_pool", "self._client", "def get_client"),
    ),
    PrivateApi(
        "django-redis-cache-object",
        "Django",
        "5.2.19",
        "django.core.cache.backends.redis:RedisCache",
        ("def _cache", "self._servers", "self._options"),
    ),
    PrivateApi(
        "channels-redis-group-channel",
        "channels_redis",
        "4.3.0",
        "channels_redis.pubsub:RedisPubSubLoopLayer",
        ('f"{self.prefix}__group__{group}"', "self.channel_layer.serialize"),
    ),
    PrivateApi(
        "channels-redis-serialize",
        "channels_redis",
        "4.3.0",
        "channels_redis.pubsub:RedisPubSubChannelLayer",
        ("def serialize",),
    ),
    PrivateApi(
        "channels-dispatch",
        "channels",
        "4.3.2",
        "channels.consumer:AsyncConsumer",
        ("async def dispatch", "aclose_old_connections", "get_handler_name"),
    ),
    PrivateApi(
        "channels-redis-flush-reset",
        "channels_redis",
        "4.3.0",
        "channels_redis.pubsub:RedisPubSubLoopLayer",
        ("async def flush",),
    ),
    PrivateApi(
        "daphne-http-factory",
        "daphne",
        "4.2.3",
        "daphne.server:Server",
        ("self.http_factory = HTTPFactory(self)",),
    ),
    PrivateApi(
        "daphne-access-log",
        "daphne",
        "4.2.3",
        "daphne.cli:CommandLineInterface.run",
        ("AccessLogGenerator(access_log_stream)", "self.load_asgi_app(args.application)"),
    ),
)

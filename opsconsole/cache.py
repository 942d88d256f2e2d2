"""Django's Redis cache, missing instead of failing while Redis is away.

The console caches only what it can afford to lose: throttle counters, counts
of failed token guesses, the mark of the last metrics broadcast. A Redis
outage must not turn every token-authenticated request into a 500 when the
database behind it is fine (HTTP keeps answering through a Redis outage), so
while Redis does not answer, reads miss and writes are dropped. Throttles are
therefore lifted for the outage; that is logged.
"""

import functools
import logging
import threading
import time

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)
WARN_EVERY_SECONDS = 10
_last_warning = 0.0


def _missing_on_outage(answer_when_down):
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            global _last_warning
            try:
                return method(self, *args, **kwargs)
            except (redis.RedisError, OSError) as error:
                if time.monotonic() - _last_warning > WARN_EVERY_SECONDS:
                    _last_warning = time.monotonic()
                    logger.warning("Cache unavailable, answering without it (throttles are lifted): %s", error)
                return answer_when_down(*args, **kwargs)

        return wrapper

    return decorate


def _default(key, default=None, *args, **kwargs):
    return default


def _delta(key, delta=1, *args, **kwargs):
    return delta


_clients: dict[tuple[tuple[str, ...], str], "KeptRedisCacheClient"] = {}
_clients_lock = threading.Lock()


class KeptRedisCacheClient(RedisCacheClient):
    """Django's client, but one ``redis.Redis`` per connection pool instead of one per operation.

    Django builds a ``redis.Redis`` for every get and set, and each copies
    the ~170 response callbacks into a new dict: ~0.25 ms of CPU per
    operation, three per token-authenticated request. The object holds no
    connection (its pool does) and is thread-safe, so one serves them all.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients_by_pool = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # private: docs/internals.md
        client = self._clients_by_pool.get(pool)
        if client is None:
            client = self._clients_by_pool[pool] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class OutageTolerantRedisCache(RedisCache):
    @property
    def _cache(self):
        # Django makes a cache object per async context, so under ASGI each
        # request and each WebSocket handshake built its own client and
        # connection pool: a TCP connect and handshake with Redis per request.
        # One client per process, whose pool is thread-safe, serves them all.
        key = (tuple(self._servers), repr(sorted(self._options.items())))  # type: ignore[attr-defined]
        with _clients_lock:
            if key not in _clients:
                _clients[key] = KeptRedisCacheClient(self._servers, **self._options)  # type: ignore[attr-defined]
            return _clients[key]

    get = _missing_on_outage(_default)(RedisCache.get)
    get_many = _missing_on_outage(lambda *args, **kwargs: {})(RedisCache.get_many)
    has_key = _missing_on_outage(lambda *args, **kwargs: False)(RedisCache.has_key)
    add = _missing_on_outage(lambda *args, **kwargs: False)(RedisCache.add)
    set = _missing_on_outage(lambda *args, **kwargs: None)(RedisCache.set)
    set_many = _missing_on_outage(lambda keys, *args, **kwargs: list(keys))(RedisCache.set_many)
    touch = _missing_on_outage(lambda *args, **kwargs: False)(RedisCache.touch)
    incr = _missing_on_outage(_delta)(RedisCache.incr)
    delete = _missing_on_outage(lambda *args, **kwargs: False)(RedisCache.delete)
    delete_many = _missing_on_outage(lambda *args, **kwargs: None)(RedisCache.delete_many)

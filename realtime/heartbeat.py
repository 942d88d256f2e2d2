"""Heartbeats of the Celery worker and of beat, which ``/readyz`` reads in the services shape.

Without them a console whose worker or beat has stopped looks healthy while
rules, notifications and pushes silently stop. Beat records its own beat on
every tick (:class:`HeartbeatScheduler`, at least every
``TICK_EVERY_SECONDS``) and sends ``realtime.tasks.heartbeat`` every
``HEARTBEAT_INTERVAL_SECONDS``, which the worker runs to record its beat: so
a fresh worker heartbeat says that a worker takes tasks off the queue, not
only that its process exists. Both are timestamps in the cache (Redis, under
the console's prefix), so every web process reads the same ones.

A heartbeat older than ``STALE_AFTER_SECONDS`` (three missed beats) is stale:
``/readyz`` answers 503 naming the role at most that long after it stopped.
"""

import logging
import time
from collections.abc import Callable

from celery.beat import PersistentScheduler
from django.core.cache import cache

ROLES = ("worker", "beat")
HEARTBEAT_INTERVAL_SECONDS = 10.0
TICK_EVERY_SECONDS = 5.0
STALE_AFTER_SECONDS = 30.0


logger = logging.getLogger(__name__)
HeartbeatListener = Callable[[str], None]
_listeners: list[HeartbeatListener] = []


def register_heartbeat_listener(listener: HeartbeatListener) -> None:
    """Have ``listener(role)`` called after each heartbeat of this process (the components app reports them)."""
    if listener not in _listeners:
        _listeners.append(listener)


def _key(role: str) -> str:
    return f"heartbeat:{role}"


def record_heartbeat(role: str) -> None:
    """Record that ``role`` is alive now; the entry outlives staleness so its age can be reported."""
    cache.set(_key(role), time.time(), timeout=int(STALE_AFTER_SECONDS * 4))
    for listener in _listeners:
        try:
            listener(role)
        except Exception:  # a listener's failure must not stop beat's ticks or the worker's task
            logger.exception("Heartbeat listener %r failed for %s", listener, role)


def heartbeat_age(role: str) -> float | None:
    """Seconds since ``role`` last recorded a heartbeat, or None when none is known (never, or Redis lost it)."""
    recorded = cache.get(_key(role))
    return None if recorded is None else max(0.0, time.time() - float(recorded))


def heartbeat_problem(role: str) -> str | None:
    """Why ``role`` does not count as alive, or None when its heartbeat is fresh."""
    age = heartbeat_age(role)
    if age is None:
        return f"no {role} heartbeat recorded"
    if age > STALE_AFTER_SECONDS:
        return f"last {role} heartbeat {age:.0f} s ago (stale after {STALE_AFTER_SECONDS:.0f} s)"
    return None


class HeartbeatScheduler(PersistentScheduler):  # type: ignore[misc]  # celery: no types
    """Celery beat's default scheduler, recording beat's heartbeat on each tick.

    A tick returns how long beat may sleep; it is capped so beat wakes (and
    records) every ``TICK_EVERY_SECONDS`` even when no job is due for long.
    """

    def tick(self, *args: object, **kwargs: object) -> float:
        record_heartbeat("beat")
        return min(float(super().tick(*args, **kwargs)), TICK_EVERY_SECONDS)

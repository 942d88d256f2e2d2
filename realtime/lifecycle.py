"""A console process starting or stopping: the hooks that say so, and who is told.

Daphne has no lifespan events, so a web process announces itself with the
first request it serves (``opsconsole/asgi.py``) and its stop at exit;
Celery's ``worker_ready``, ``worker_shutdown`` and ``beat_init`` signals
announce the worker and beat (``opsconsole/celery.py``). Listeners (the
components app records and pushes ``system`` events) register from their
app's ``ready()``; this module knows none of them.
"""

import atexit
import logging
import os
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

STARTED = "started"
STOPPED = "stopped"
SERVICES = ("web", "worker", "beat")

LifecycleListener = Callable[[str, str, int], None]  # (event, service, pid)
_listeners: list[LifecycleListener] = []
_announced: set[str] = set()
_lock = threading.Lock()


def register_lifecycle_listener(listener: LifecycleListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def announce(event: str, service: str) -> None:
    """Tell every listener that this process's ``service`` had ``event``; never raises into the caller."""
    if event not in (STARTED, STOPPED) or service not in SERVICES:
        raise ValueError(f"Unknown process event {event!r} of {service!r}")
    for listener in _listeners:
        try:
            listener(event, service, os.getpid())
        except Exception:  # a start or a shutdown must not fail over its announcement
            logger.exception("Lifecycle listener %r failed for %s %s", listener, service, event)


def announce_start_once(service: str) -> None:
    """Announce ``service`` started, once per process, and its stop when the process exits normally."""
    with _lock:
        if service in _announced:
            return
        _announced.add(service)
    announce(STARTED, service)
    atexit.register(announce, STOPPED, service)

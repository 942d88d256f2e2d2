"""Answering ``resume`` on ``/ws/status`` from the database when the replay buffer cannot.

Like ``alerts.event_log``: a client that missed events is sent the current
state of every component that changed since then, and every configuration
change and process event since then, in the order they happened.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alerts.config_audit import config_data
from alerts.models import ConfigChange
from components.models import Component, SystemEvent
from components.services import status_data
from components.system import system_data
from realtime.envelope import envelope

MAX_LOG_ROWS = 20_000
REPLAYED_FROM = "event_log"


def changes_since(moment):
    """``status``, ``config`` and ``system`` events bringing a client current from ``moment``; None if too many."""
    components = list(Component.objects.filter(updated_at__gte=moment)[: MAX_LOG_ROWS + 1])
    configs = list(ConfigChange.objects.filter(at__gte=moment).order_by("at", "id")[: MAX_LOG_ROWS + 1])
    systems = list(SystemEvent.objects.filter(at__gte=moment).order_by("at", "id")[: MAX_LOG_ROWS + 1])
    if len(components) + len(configs) + len(systems) > MAX_LOG_ROWS:
        return None
    changes: list[tuple[datetime, str, Mapping[str, Any]]] = [
        (item.updated_at, "status", status_data(item)) for item in components
    ]
    changes += [(item.at, "config", config_data(item)) for item in configs]
    changes += [(item.at, "system", system_data(item)) for item in systems]
    changes.sort(key=lambda change: change[0])
    return [envelope(type_, data, meta={"replayed_from": REPLAYED_FROM}) for _, type_, data in changes]

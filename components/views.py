"""The ``/status/`` page: every component, live over ``/ws/status``."""

from collections.abc import Mapping
from typing import Any

from django.shortcuts import render

from accounts.access import staff_required
from alerts.config_audit import config_data
from alerts.models import ConfigChange
from components.models import Component, SystemEvent
from components.services import status_data
from components.system import system_data
from realtime.replay import stream_position
from realtime.topics import STATUS

RECENT_EVENTS = 30


@staff_required
def status_page(request):
    seq = stream_position(STATUS)  # before the data, so the socket replays what changes after it
    configs = [config_data(change) for change in ConfigChange.objects.order_by("-at", "-id")[:RECENT_EVENTS]]
    systems = [system_data(event) for event in SystemEvent.objects.order_by("-at", "-id")[:RECENT_EVENTS]]
    recent: list[tuple[str, str, Mapping[str, Any]]] = [(item["at"], "config", item) for item in configs]
    recent += [(str(item["at"]), "system", item) for item in systems]
    recent.sort(key=lambda event: event[0], reverse=True)
    events = [{"type": type_, "data": data} for _, type_, data in recent[:RECENT_EVENTS]]
    components = [status_data(component) for component in Component.objects.order_by("name")]
    state = {"components": components, "events": events, "seq": seq}
    return render(request, "components/status.html", {"state": state, "components": components, "events": events})

"""Who gets an event: one socket's subscription, and the rule that applies it.

An event passes when its type (or ``type.refinement``, e.g. ``alert.cpu``) is
subscribed and every filter finds its field's value among the accepted ones.
A filter on a field the event does not have does not hold it back: an
``alert_summary`` has no severity. ``metrics`` events carry many series; the
filters narrow that list instead of passing or dropping the whole event.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from realtime.envelope import Envelope
from realtime.topics import POSITION


def _refinement(event: Envelope) -> str | None:
    data = event.get("data", {})
    if event["type"] in ("alert", "incident"):
        category = data.get("category")
        return None if category is None else str(category)
    return None


def _field(data: Mapping[str, Any], name: str) -> Any:
    if name == "host" and "host" not in data:
        return (data.get("labels") or data.get("tags") or {}).get("host")
    if name == "name" and "name" not in data:
        return data.get("metric_name")
    return data.get(name)


@dataclass
class Subscription:
    events: set[str] | None = None  # None: everything of the endpoint (the default)
    filters: dict[str, set[Any]] = field(default_factory=dict)

    def subscribe(
        self, events: Iterable[str] | None = None, filters: Mapping[str, Iterable[Any]] | None = None
    ) -> None:
        if events is not None:
            self.events = (self.events or set()) | set(events)
        if filters is not None:
            self.filters = {name: set(values) for name, values in filters.items()}

    def unsubscribe(self, events: Iterable[str]) -> None:
        if self.events is None:
            return
        self.events -= set(events)

    def describe(self) -> dict[str, Any]:
        return {
            "events": sorted(self.events) if self.events is not None else "*",
            "filters": {name: sorted(values) for name, values in self.filters.items()},
        }

    def _type_wanted(self, event: Envelope) -> bool:
        if self.events is None:
            return True
        refined = _refinement(event)
        return event["type"] in self.events or (refined is not None and f"{event['type']}.{refined}" in self.events)

    def _data_passes(self, data: Mapping[str, Any]) -> bool:
        for name, accepted in self.filters.items():
            value = _field(data, name)
            if value is not None and value not in accepted:
                return False
        return True

    def select(self, event: Envelope) -> Envelope | None:
        """The event as this socket should see it, or None when it is not wanted."""
        if (self.events is None and not self.filters) or event["type"] == POSITION:
            return event  # the default, the common case on the broadcast path; a position reaches every socket
        if not self._type_wanted(event):
            return None
        if event["type"] == "metrics":
            series = [item for item in event["data"].get("series", []) if self._data_passes(item)]
            if not series:
                return None
            if len(series) == len(event["data"]["series"]):
                return event
            return {**event, "data": {**event["data"], "series": series}}
        return event if self._data_passes(event.get("data", {})) else None

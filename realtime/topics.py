"""The WebSocket endpoints and the event types each one carries.

A topic is an endpoint: ``/ws/alerts`` carries topic ``alerts``. Each topic has
its own sequence of ``meta.seq`` numbers and its own replay buffer.
"""

ALERTS = "alerts"
METRICS = "metrics"
STATUS = "status"

EVENT_TYPES = {
    ALERTS: ("alert", "alert_deleted", "alert_summary", "incident"),
    METRICS: ("performance", "metrics"),
    STATUS: ("status", "system", "config"),
}
TOPICS = tuple(EVENT_TYPES)


def group_name(topic: str) -> str:
    """The channel-layer group every socket of ``topic`` joins."""
    return f"stream.{topic}"

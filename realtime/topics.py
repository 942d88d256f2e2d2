"""The WebSocket endpoints and the event types each one carries.

A topic is an endpoint: ``/ws/alerts`` carries topic ``alerts``. Each topic has
its own sequence of ``meta.seq`` numbers and its own replay buffer.

Durable event types are stored with the change they report and numbered
contiguously (``realtime.relay``); the others are periodic snapshots, sent
straight to the sockets with ``meta.at_seq``. A new durable type is one entry
in ``DURABLE_TYPES``.
"""

ALERTS = "alerts"
METRICS = "metrics"
STATUS = "status"

EVENT_TYPES = {
    ALERTS: ("alert", "alert_deleted", "alert_summary", "incident"),
    METRICS: ("performance", "metrics"),
    STATUS: ("status", "system", "config"),
}
DURABLE_TYPES = {
    ALERTS: ("alert", "alert_deleted", "incident"),
    STATUS: ("status", "system", "config"),
}
TOPICS = tuple(EVENT_TYPES)
# Sent on every durable endpoint to every socket, whatever it subscribed to:
# the latest seq, so a socket that hears few events still notices a lost one.
POSITION = "position"


def is_durable(topic: str, type_: str) -> bool:
    return type_ in DURABLE_TYPES.get(topic, ())


def group_name(topic: str) -> str:
    """The channel-layer group every socket of ``topic`` joins."""
    return f"stream.{topic}"

"""Reading client frames and writing server frames (contract, section 3).

Everything the server needs to know about the wire lives here: a consumer
gets either a validated ``ClientMessage`` or a ``ProtocolError`` carrying the
contract's error code and a message that says what to fix.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from realtime.envelope import Envelope, envelope
from realtime.topics import EVENT_TYPES

MAX_FRAME_BYTES = 64 * 1024
# Largest frame sent: common clients refuse bigger messages by default (python
# websockets' max_size) and close the socket with 1009.
MAX_SERVER_FRAME_BYTES = 1024 * 1024
MIN_INTERVAL_MS, MAX_INTERVAL_MS = 50, 10_000
MAX_HISTORY_MINUTES = 7 * 24 * 60
MAX_LIST = 50
# The query API's aggregates (metrics.query.AGGREGATES), which realtime may not import.
HISTORY_AGGREGATES = ("avg", "min", "max", "sum", "count", "last", "rate")
FILTER_FIELDS = ("severity", "category", "source", "status", "host", "name", "component", "service", "object", "action")

INVALID_JSON = "INVALID_JSON"
UNKNOWN_TYPE = "UNKNOWN_TYPE"
INVALID_MESSAGE = "INVALID_MESSAGE"
MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
PERMISSION_DENIED = "PERMISSION_DENIED"
SLOW_CONSUMER = "SLOW_CONSUMER"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
TOO_MANY_CONNECTIONS = "TOO_MANY_CONNECTIONS"

CLOSE_AUTHENTICATION_FAILED = 4401
CLOSE_PERMISSION_DENIED = 4403
CLOSE_TOO_SLOW = 4408
CLOSE_TOO_MANY_CONNECTIONS = 4429
# RFC 6455's 1012 (service restart) would say it, but servers may send only
# 1000 or 3000-4999; like the others, this is the HTTP status plus 4000.
CLOSE_SERVICE_UNAVAILABLE = 4503

CLIENT_TYPES = ("ping", "subscribe", "unsubscribe", "request_data", "resume", "set_interval")


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> ProtocolError:
    return ProtocolError(INVALID_MESSAGE, message)


@dataclass(frozen=True)
class ClientMessage:
    type: str
    data: dict[str, Any] = field(default_factory=dict)


def parse_frame(topic: str, text: str | None = None, bytes_: bytes | None = None) -> ClientMessage:
    """The validated client message in a frame for ``topic``, or ProtocolError."""
    if bytes_ is not None:
        if len(bytes_) > MAX_FRAME_BYTES:
            raise ProtocolError(MESSAGE_TOO_LARGE, f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
        try:
            text = bytes_.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(INVALID_JSON, "Frame is not valid UTF-8 text.") from None
    text = text or ""
    if len(text) > MAX_FRAME_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise ProtocolError(MESSAGE_TOO_LARGE, f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError(INVALID_JSON, "Frame is not valid JSON.") from None
    if "\\u" in text and not _encodable(payload):
        # Only a \u escape can smuggle in a lone surrogate; echoed back (an
        # error message, a subscription) it would make a frame the server
        # cannot encode, and daphne would end the connection.
        raise invalid("Strings must be valid Unicode; this frame has an unpaired surrogate escape (\\ud800-\\udfff).")
    if not isinstance(payload, dict):
        raise invalid("A frame must be a JSON object.")
    type_ = payload.get("type")
    if not isinstance(type_, str):
        raise invalid("Field 'type' must be a string.")
    if type_ not in CLIENT_TYPES:
        raise ProtocolError(
            UNKNOWN_TYPE, f"Unknown message type {type_[:64]!r}; expected one of {', '.join(CLIENT_TYPES)}."
        )
    data = payload.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise invalid("Field 'data' must be an object.")
    return ClientMessage(type_, VALIDATORS[type_](topic, data))


def _encodable(payload: object) -> bool:
    try:
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _strings(value: object, where: str, *, allow_empty: bool = False) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(item, str) and 0 < len(item) <= 200 and item.isprintable() for item in value
    ):
        raise invalid(f"'{where}' must be a list of non-empty strings.")
    if not value and not allow_empty:
        raise invalid(f"'{where}' must not be empty.")
    if len(value) > MAX_LIST:
        raise invalid(f"'{where}' holds at most {MAX_LIST} items.")
    return value


def _whole_number(value: object, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"'{where}' must be a whole number from {low} to {high}.")
    return value


def _event_names(topic: str, value: object, where: str) -> list[str]:
    names = _strings(value, where)
    for name in names:
        base = name.split(".", 1)[0]
        if base not in EVENT_TYPES[topic]:
            raise invalid(f"'{name}' is not an event of /ws/{topic}; it carries {', '.join(EVENT_TYPES[topic])}.")
    return names


def _ping(topic: str, data: dict[str, Any]) -> dict[str, Any]:
    return {}


def _subscribe(topic: str, data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if "events" in data:
        result["events"] = _event_names(topic, data["events"], "data.events")
    filters = data.get("filters", {})
    if not isinstance(filters, dict):
        raise invalid("'data.filters' must be an object of field: [values].")
    for name, values in filters.items():
        if name not in FILTER_FIELDS:
            raise invalid(f"Unknown filter '{name[:64]}'; filters are {', '.join(FILTER_FIELDS)}.")
        _strings(values, f"data.filters.{name}")
    if "filters" in data:
        result["filters"] = {name: list(values) for name, values in filters.items()}
    if not result:
        raise invalid("subscribe needs 'data.events', 'data.filters' or both.")
    return result


def _unsubscribe(topic: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"events": _event_names(topic, data.get("events"), "data.events")}


def _request_data(topic: str, data: dict[str, Any]) -> dict[str, Any]:
    metrics = _strings(data.get("metrics"), "data.metrics")
    minutes = _whole_number(data.get("history_minutes", 10), "data.history_minutes", 1, MAX_HISTORY_MINUTES)
    tags = data.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise invalid("'data.tags' must be an object of strings.")
    agg = data.get("agg", "avg")
    if agg not in HISTORY_AGGREGATES:
        raise invalid(f"'data.agg' must be one of {', '.join(HISTORY_AGGREGATES)}.")
    return {"metrics": metrics, "history_minutes": minutes, "tags": tags, "agg": agg}


def _resume(topic: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"since": _whole_number(data.get("since"), "data.since", 0, 2**62)}


def _set_interval(topic: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"ms": _whole_number(data.get("ms"), "data.ms", MIN_INTERVAL_MS, MAX_INTERVAL_MS)}


VALIDATORS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "ping": _ping,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "request_data": _request_data,
    "resume": _resume,
    "set_interval": _set_interval,
}


def error_frame(code: str, message: str, **extra: object) -> Envelope:
    return envelope("error", {"code": code, "message": message, **extra})


def encode(frame: object) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)

"""The frame every message from the server travels in (contract, section 3)."""

import uuid
from datetime import UTC, datetime
from typing import Any, TypedDict


class Envelope(TypedDict):
    """A server frame; pushed events carry ``meta.seq``, replayed ones ``meta.replayed_from``."""

    type: str
    id: str
    timestamp: str
    data: Any  # an object for every frame type; its shape is the type's
    meta: dict[str, Any]


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(type_: str, data: Any = None, meta: dict[str, Any] | None = None) -> Envelope:
    """``{"type", "id", "timestamp", "data", "meta"}`` with a fresh id and the current UTC time."""
    return {
        "type": type_,
        "id": uuid.uuid4().hex,
        "timestamp": utc_now_iso(),
        "data": {} if data is None else data,
        "meta": {} if meta is None else meta,
    }

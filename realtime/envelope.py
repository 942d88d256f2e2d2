"""The frame every message from the server travels in (contract, section 3)."""

import uuid
from datetime import UTC, datetime


def utc_now_iso():
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(type_, data=None, meta=None):
    """``{"type", "id", "timestamp", "data", "meta"}`` with a fresh id and the current UTC time."""
    return {
        "type": type_,
        "id": uuid.uuid4().hex,
        "timestamp": utc_now_iso(),
        "data": {} if data is None else data,
        "meta": {} if meta is None else meta,
    }

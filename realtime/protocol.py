"""Reading client frames and writing server frames (contract, section 3).

Everything a consumer needs to know about the wire lives here, so consumers
only decide what to do with a message that is already known to be valid.
"""

import json
from dataclasses import dataclass, field

from realtime.envelope import envelope

MAX_FRAME_BYTES = 64 * 1024

INVALID_JSON = "INVALID_JSON"
UNKNOWN_TYPE = "UNKNOWN_TYPE"
INVALID_MESSAGE = "INVALID_MESSAGE"
MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
PERMISSION_DENIED = "PERMISSION_DENIED"

CLOSE_AUTHENTICATION_FAILED = 4401
CLOSE_PERMISSION_DENIED = 4403

CLIENT_TYPES = ("ping",)


class ProtocolError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ClientMessage:
    type: str
    data: dict = field(default_factory=dict)


def parse_frame(text=None, bytes_=None):
    """The client message in a frame, or ProtocolError naming what is wrong with it."""
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
    if not isinstance(payload, dict):
        raise ProtocolError(INVALID_MESSAGE, "A frame must be a JSON object.")
    type_ = payload.get("type")
    if not isinstance(type_, str):
        raise ProtocolError(INVALID_MESSAGE, "Field 'type' must be a string.")
    if type_ not in CLIENT_TYPES:
        raise ProtocolError(UNKNOWN_TYPE, f"Unknown message type {type_[:64]!r}.")
    data = payload.get("data", {})
    if not isinstance(data, dict):
        raise ProtocolError(INVALID_MESSAGE, "Field 'data' must be an object.")
    return ClientMessage(type_, data)


def error_frame(code, message, **extra):
    return envelope("error", {"code": code, "message": message, **extra})


def encode(frame):
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)

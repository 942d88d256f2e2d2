"""Pushed frames encoded once per process, however many sockets they go to.

An event reaches a process once and then goes to every socket there that
wants it; a burst goes out as the same ``batch`` to every socket that had
the same events waiting. Encoding each copy anew (JSON, then UTF-8, then
WebSocket framing) was most of the broadcast path's CPU (``bench/load.py``:
~150 us per socket and frame). Here a frame is encoded on first use and the
same text, bytes and framed message serve every socket after it.

Entries are found by the identity of the event objects, never by id alone: a
socket's filtered copy of an event (``Subscription.select`` narrowing a
``metrics`` event) shares the original's id but not its content.
"""

import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from realtime.envelope import Envelope, utc_now_iso
from realtime.protocol import encode

_EVENTS_KEPT = 4096
_BATCHES_KEPT = 256
# How long sockets may share one batch frame: its ``timestamp`` says when it
# was made, and a socket sent it later than this gets a frame of its own.
BATCH_SHARED_SECONDS = 0.5


class Frame:
    """One server frame: its JSON ``text``, and its UTF-8 ``payload`` and framed message made when first asked for."""

    __slots__ = ("type", "text", "published", "_payload", "_prepared")

    def __init__(self, type_: str, text: str, published: float | None = None) -> None:
        self.type = type_
        self.text = text
        self.published = published  # a pushed event's publish time (epoch seconds), for its delivery latency
        self._payload: bytes | None = None
        # (factory, message): framing depends on the server's protocol factory
        self._prepared: tuple[Any, Any] | None = None

    @classmethod
    def of(cls, frame: Envelope) -> "Frame":
        """A frame of one socket's own (a reply, an error): encoded for that socket alone."""
        return cls(frame["type"], encode(frame))

    @property
    def payload(self) -> bytes:
        if self._payload is None:
            self._payload = self.text.encode()
        return self._payload

    @property
    def size(self) -> int:
        """Bytes on the wire before framing."""
        return len(self.payload)

    def prepared(self, factory: Any) -> Any:  # autobahn's factory and PreparedMessage: untyped
        """The message framed once by autobahn's ``factory``, to send with ``sendPreparedMessage``."""
        if self._prepared is None or self._prepared[0] is not factory:
            self._prepared = (factory, factory.prepareMessage(self.payload))
        return self._prepared[1]


_events: OrderedDict[str | None, tuple[Envelope, Frame]] = OrderedDict()  # event id -> (event, Frame)


def event_frame(event: Envelope) -> Frame:
    """``event`` as a frame of its own, encoded once while it stays among the recent ones."""
    key = event.get("id")
    cached = _events.get(key)
    if cached is not None and cached[0] is event:
        return cached[1]
    frame = Frame(event["type"], encode(event), _published(event))
    if key is not None:
        _events[key] = (event, frame)
        if len(_events) > _EVENTS_KEPT:
            _events.popitem(last=False)
    return frame


def _published(event: Envelope) -> float | None:
    try:
        return datetime.fromisoformat(event["timestamp"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None


# ids of the member frames -> (member frames, Frame, monotonic time made)
_batches: OrderedDict[tuple[int, ...], tuple[tuple[Frame, ...], Frame, float]] = OrderedDict()


def batch_frame(members: Sequence[Frame]) -> Frame:
    """The ``batch`` frame of ``members`` (event Frames, in order).

    Shared by the sockets that send the same run together.
    """
    key = tuple(id(member) for member in members)
    cached = _batches.get(key)
    now = time.monotonic()
    # The entry keeps its members alive, so equal ids mean the same frames.
    if cached is not None and now - cached[2] < BATCH_SHARED_SECONDS:
        return cached[1]
    head = encode({"type": "batch", "id": uuid.uuid4().hex, "timestamp": utc_now_iso()})
    text = "".join(
        (
            head[:-1],
            ',"data":{"messages":[',
            ",".join(member.text for member in members),
            ']},"meta":{"count":',
            str(len(members)),
            "}}",
        )
    )
    frame = Frame("batch", text)
    _batches[key] = (tuple(members), frame, now)
    _batches.move_to_end(key)
    if len(_batches) > _BATCHES_KEPT:
        _batches.popitem(last=False)
    return frame


def in_batches(frames: Iterable[Frame], limit: int) -> Iterator[list[Frame]]:
    """``frames`` cut, in order, into runs of at most ``limit`` bytes (a bigger frame goes alone)."""
    run: list[Frame] = []
    size = 0
    for frame in frames:
        frame_size = frame.size
        if run and size + frame_size > limit:
            yield run
            run, size = [], 0
        run.append(frame)
        size += frame_size
    if run:
        yield run

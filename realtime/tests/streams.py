"""What a test reads of the stream: the durable events a change recorded, and how many snapshots went out."""

from typing import Any

from opsconsole import telemetry
from realtime.models import StreamCursor, StreamEvent


def position(topic: str = "alerts") -> int:
    """The seq sent last on ``topic`` (what ``stream_position`` answers when the database does)."""
    return StreamCursor.objects.get_or_create(topic=topic)[0].published_seq


def stream_mark(topic: str = "alerts") -> int:
    """A point in the stream's table; ``recorded_since`` answers what was recorded after it."""
    last = StreamEvent.objects.filter(topic=topic).order_by("-id").values_list("id", flat=True).first()
    return last or 0


def sent_since(mark: int, topic: str = "alerts") -> list[dict[str, Any]]:
    """The durable events recorded on ``topic`` after ``mark`` and sent by the relay, in seq order.

    Each is ``{"type", "data", "seq"}``. A row is sent once its transaction
    committed and a relay pass ran (``realtime.relay``).
    """
    cursor = StreamCursor.objects.filter(topic=topic).first()
    if cursor is None:
        return []
    rows = StreamEvent.objects.filter(topic=topic, id__gt=mark, seq__lte=cursor.published_seq).order_by("seq")
    return [{"type": row.type, "data": row.data, "seq": row.seq} for row in rows]


def published_count(topic: str, type_: str) -> float:
    """How many ``type_`` events this process handed to the channel layer on ``topic`` (GET /metrics counts them)."""
    return sum(
        sample.value
        for metric in telemetry.events_published.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels == {"topic": topic, "type": type_}
    )

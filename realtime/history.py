"""What ``request_data`` answers with: series history, from whichever app registers it.

The metrics app registers its reader from ``AppConfig.ready``; realtime knows
no domain model, only the shape the query API gives (``[{"name", "tags",
"points"}]``).
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

HistoryReader = Callable[[Sequence[str], dict[str, str], int, str], Sequence[Mapping[str, Any]]]

_reader: HistoryReader | None = None


def register_history(reader: HistoryReader) -> None:
    """Let ``reader(metrics, tags, minutes, agg)`` answer every socket's ``request_data``."""
    global _reader
    _reader = reader


def recent_history(
    metrics: Sequence[str], tags: dict[str, str], minutes: int, agg: str = "avg"
) -> Sequence[Mapping[str, Any]]:
    """The last ``minutes`` of each named metric's series matching ``tags``, by ``agg``; none without a reader."""
    return [] if _reader is None else _reader(metrics, tags, minutes, agg)

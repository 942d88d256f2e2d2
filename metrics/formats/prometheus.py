"""Prometheus text exposition (``text/plain; version=0.0.4``) and OpenMetrics text, read by prometheus_client.

Every sample is a point named as the sample is (``http_requests_total``,
``..._bucket`` with its ``le`` label, ``..._sum``, ``..._count``), its labels
as tags. Rules the store imposes on top of the format, documented in
docs/integrations.md: a label with an empty value is absent (as in
Prometheus itself); a sample whose value is NaN or infinite (staleness
markers, ``+Inf`` gauges) is skipped and counted, since the store holds finite
numbers only; OpenMetrics ``_created`` samples (when a counter started) are
left out; anything else the JSON rules refuse fails the whole body.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import NamedTuple

from prometheus_client.openmetrics.parser import text_fd_to_metric_families as openmetrics_families
from prometheus_client.parser import text_fd_to_metric_families as text_families

from metrics.points import InvalidItem, Point, PointBuilder

# OpenMetrics families whose `<name>_created` sample says when counting began.
CREATED_TYPES = {"counter", "histogram", "summary", "gaugehistogram"}


class ParsedSamples(NamedTuple):
    points: list[Point]
    skipped: int  # non-finite samples


class _Lines:
    """The body's lines for the parser, counting them so an error can name its line."""

    def __init__(self, text: str) -> None:
        self._lines = iter(text.splitlines(keepends=True))
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            self.number += 1
            yield line


def _spelled(name: str, labels: dict[str, str]) -> str:
    pairs = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return f"{name}{{{pairs}}}"[:300] if pairs else name[:300]


def parse_exposition(text: str, *, openmetrics: bool = False, now: datetime | None = None) -> ParsedSamples:
    """The samples of an exposition body as points, or InvalidItem naming the line the parser stopped at."""
    builder = PointBuilder(now)
    lines = _Lines(text)
    skipped = 0
    # The parsers only iterate their file argument, line by line.
    families = openmetrics_families(lines) if openmetrics else text_families(lines)  # type: ignore[arg-type,no-untyped-call]
    try:
        for family in families:
            created = f"{family.name}_created" if family.type in CREATED_TYPES else None
            for sample in family.samples:
                if sample.name == created:
                    continue  # a creation time, not a measurement (Prometheus ignores it too)
                value = float(sample.value)
                if not -float("inf") < value < float("inf"):
                    skipped += 1
                    continue
                try:
                    ts = None if sample.timestamp is None else datetime.fromtimestamp(float(sample.timestamp), UTC)
                    tags = builder.tag_set({key: label for key, label in sample.labels.items() if label})
                    builder.add(sample.name, tags, ts, value)
                except (ValueError, OverflowError, OSError) as error:
                    # Families arrive once the parser has read past them, so
                    # the sample itself, not a line number, names what is wrong.
                    raise InvalidItem(f"sample {_spelled(sample.name, sample.labels)}", str(error)) from None
    except ValueError as error:  # the parser's own: the format is broken at this line
        detail = str(error) or "not a valid sample, comment or blank line"
        raise InvalidItem(f"line {lines.number}", detail[:300], line=lines.number) from None
    return ParsedSamples(builder.points, skipped)

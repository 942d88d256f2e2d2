"""OTLP/HTTP metrics (``ExportMetricsServiceRequest``), protobuf or its JSON mapping, read with opentelemetry-proto.

Gauges and sums (cumulative or delta, as sent: a delta sum's points are
the increments) become points named as the metric, with the resource's
attributes, the metric's unit (when it has one) as the tag ``unit``, and the
point's attributes as tags, later ones winning a clash of names. Histograms, exponential histograms, summaries and
non-finite values are not stored: they are counted as rejected in the OTLP
partial-success answer, as the spec asks of a receiver that keeps part of a
request. Attribute values that are not scalars (arrays, maps, bytes) and
empty ones are left out of the tags. A data point the JSON rules refuse
fails the whole request, naming it
(reference: https://opentelemetry.io/docs/specs/otlp/#otlphttp).
"""

from datetime import datetime
from typing import Any, NamedTuple

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from metrics.points import UNIT_PATTERN, InvalidBody, InvalidItem, Point, PointBuilder, TagSet, from_epoch_ns

UNSUPPORTED = ("histogram", "exponential_histogram", "summary")


class ParsedMetrics(NamedTuple):
    points: list[Point]
    rejected: int
    reasons: list[str]


def decode(body: bytes, *, json: bool) -> ExportMetricsServiceRequest:
    """The request message, or InvalidBody saying why the bytes are not one."""
    request = ExportMetricsServiceRequest()
    try:
        if json:
            # Unknown fields are ignored, as OTLP asks of receivers (newer senders add some).
            json_format.Parse(body, request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except UnicodeDecodeError:
        raise InvalidBody("The OTLP JSON body is not valid UTF-8.") from None
    except json_format.ParseError as error:
        raise InvalidBody(f"Not an OTLP JSON ExportMetricsServiceRequest: {str(error)[:300]}") from None
    except (DecodeError, RecursionError):
        raise InvalidBody("Not an OTLP protobuf ExportMetricsServiceRequest.") from None
    return request


def _text(value: Any) -> str:
    """An attribute's value as tag text: scalars as text; "" (left out) for empty ones, arrays, maps, bytes."""
    text = value.string_value
    if text:
        return str(text)
    kind = value.WhichOneof("value")
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        return repr(value.double_value)
    return ""


def _pairs(attributes: Any) -> tuple[tuple[str, str], ...]:
    return tuple((attribute.key, text) for attribute in attributes if (text := _text(attribute.value)))


def to_points(request: ExportMetricsServiceRequest, now: datetime | None = None) -> ParsedMetrics:
    """Gauge and sum points of the request, how many others were rejected and why; InvalidItem on a bad point."""
    builder = PointBuilder(now)
    rejected = 0
    reasons: set[str] = set()
    moments: dict[int, datetime] = {}
    known_tags: dict[tuple[tuple[str, str], ...], dict[bytes, TagSet]] = {}
    join, serialize = b"".join, KeyValue.SerializeToString
    for r, resource_metrics in enumerate(request.resource_metrics):
        resource_tags = _pairs(resource_metrics.resource.attributes)
        for s, scope_metrics in enumerate(resource_metrics.scope_metrics):
            for m, metric in enumerate(scope_metrics.metrics):
                kind = metric.WhichOneof("data")
                if kind in UNSUPPORTED:
                    count = len(getattr(metric, kind).data_points)
                    rejected += count
                    reasons.add(f"{kind.replace('_', ' ')} metrics are not stored")
                    continue
                if kind is None:
                    continue
                data_points = metric.gauge.data_points if kind == "gauge" else metric.sum.data_points
                metric_tags = (*resource_tags, ("unit", metric.unit)) if metric.unit else resource_tags
                name = metric.name
                unit = metric.unit if UNIT_PATTERN.match(metric.unit) else ""
                tag_sets = known_tags.setdefault(metric_tags, {})
                for p, point in enumerate(data_points):
                    value = point.as_double if point.WhichOneof("value") != "as_int" else float(point.as_int)
                    if not -float("inf") < value < float("inf"):
                        rejected += 1
                        reasons.add("NaN and infinite values are not stored")
                        continue
                    try:
                        # Points repeat their attribute sets: key them by their wire bytes
                        # (serialized in C) and read each set's values only once.
                        attributes = point.attributes
                        wire = join(map(serialize, attributes))
                        tags = tag_sets.get(wire)
                        if tags is None:
                            tags = tag_sets[wire] = builder.tag_set_of(metric_tags + _pairs(attributes))
                        nanoseconds = point.time_unix_nano
                        ts = moments.get(nanoseconds)  # an export's points mostly share their times
                        if ts is None and nanoseconds:
                            ts = moments[nanoseconds] = from_epoch_ns(nanoseconds)
                        builder.add(name, tags, ts, value, unit)
                    except (ValueError, OverflowError) as error:
                        item = f"resourceMetrics[{r}].scopeMetrics[{s}].metrics[{m}] ({name[:200]}).dataPoints[{p}]"
                        raise InvalidItem(item, str(error)) from None
    return ParsedMetrics(builder.points, rejected, sorted(reasons))

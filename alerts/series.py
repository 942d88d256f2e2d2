"""The metric series an alert is about: what its page charts around the firing."""

from typing import Any, TypedDict

from django.db.models import Q

from alerts.models import Alert
from metrics.models import Series
from metrics.points import tags_key

MAX_SERIES = 6
# Series read to find those whose tags the labels contain; enough for any one
# host's metrics, and a bound on a page's cost when labels are common words.
MAX_CANDIDATES = 500


class SeriesRef(TypedDict):
    name: str
    tags: dict[str, str]


def _text_labels(labels: dict[str, Any]) -> dict[str, str]:
    return {str(key): value for key, value in labels.items() if isinstance(value, str)}


def alert_series(alert: Alert) -> list[SeriesRef]:
    """The series to chart for ``alert``, at most MAX_SERIES, by name then tags.

    A rule's alert is about the series it fired on: the rule's metric with
    the alert's labels (a rule copies a series' tags into its labels). Any
    other alert is about every series whose tags, at least one, the alert's
    labels all contain (``host=web-1`` charts web-1's series).
    """
    labels = _text_labels(alert.labels)
    if alert.rule is not None:
        fired_on = Series.objects.filter(name=alert.rule.metric, tags_key=tags_key(labels)).first()
        if fired_on is not None:
            return [{"name": fired_on.name, "tags": fired_on.tags}]
    if not labels:
        return []
    # Narrowed in the database to series carrying any of the labels' pairs,
    # then held here to tags that are all among the labels.
    carries_any = Q()
    for key, value in labels.items():
        carries_any |= Q(tags_key__contains=f"{key}={value}")
    candidates = Series.objects.filter(carries_any).order_by("name", "tags_key")[:MAX_CANDIDATES]
    found: list[SeriesRef] = []
    for series in candidates:
        tags = series.tags or {}
        if tags and all(labels.get(key) == value for key, value in tags.items()):
            found.append({"name": series.name, "tags": tags})
            if len(found) == MAX_SERIES:
                break
    return found

"""Downsampled reads: at most one point per step per series.

On Postgres the buckets are computed in SQL with ``date_bin`` over raw samples
and the per-minute rollups that replaced old samples, merged bucket by bucket.
SQLite (the embedded shape) aggregates the same rows in Python.
"""

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db import connection

from metrics.models import Rollup, Sample, Series

AGGREGATES = ("avg", "min", "max", "sum", "count", "last")
MAX_POINTS_PER_SERIES = 10_000
DEFAULT_POINTS = 1_000
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)  # buckets align to whole steps since this instant


class InvalidQuery(ValueError):
    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def default_step(start, end):
    return max(1, math.ceil((end - start).total_seconds() / DEFAULT_POINTS))


def with_tags(series, tags):
    """The series carrying every given tag exactly (JSON containment, done portably in Python)."""
    if not tags:
        return list(series)
    return [item for item in series if all(item.tags.get(key) == value for key, value in tags.items())]


def matching_series(name, tags):
    return with_tags(Series.objects.filter(name=name).order_by("tags_key"), tags)


def query_series(*, name, tags=None, start, end, step=None, agg="avg"):
    """``[{"name", "tags", "points": [[epoch_seconds, value], ...]}]`` for every matching series.

    ``start`` is inclusive and ``end`` exclusive; points are bucket starts.
    """
    if agg not in AGGREGATES:
        raise InvalidQuery("agg", f"must be one of {', '.join(AGGREGATES)}")
    if end <= start:
        raise InvalidQuery("end", "must be after start")
    step = step or default_step(start, end)
    if step < 1:
        raise InvalidQuery("step", "must be at least 1 second")
    if (end - start).total_seconds() / step > MAX_POINTS_PER_SERIES:
        raise InvalidQuery("step", f"too small for this range: at most {MAX_POINTS_PER_SERIES} points per series")
    series = matching_series(name, tags or {})
    if not series:
        return []
    buckets = _buckets_sql if connection.vendor == "postgresql" else _buckets_python
    rows = buckets([item.pk for item in series], start, end, step)
    return [
        {"name": item.name, "tags": item.tags, "points": [[at, _pick(agg, parts)] for at, parts in rows.get(item.pk, [])]}
        for item in series
    ]


def _pick(agg, parts):
    count, total, minimum, maximum, last = parts
    return {
        "avg": total / count if count else None,
        "min": minimum,
        "max": maximum,
        "sum": total,
        "count": count,
        "last": last,
    }[agg]


BUCKETS_SQL = """
WITH parts AS (
    SELECT series_id, date_bin(%(step)s, ts, %(origin)s) AS bucket, count(*) AS n, sum(value) AS total,
           min(value) AS lo, max(value) AS hi, max(ts) AS last_at, (array_agg(value ORDER BY ts DESC))[1] AS last_value
    FROM metrics_sample
    WHERE series_id = ANY(%(ids)s) AND ts >= %(start)s AND ts < %(end)s
    GROUP BY 1, 2
    UNION ALL
    SELECT series_id, date_bin(%(step)s, bucket, %(origin)s), sum(count), sum(total), min(minimum), max(maximum),
           max(bucket), (array_agg(last ORDER BY bucket DESC))[1]
    FROM metrics_rollup
    WHERE series_id = ANY(%(ids)s) AND bucket >= %(start)s AND bucket < %(end)s
    GROUP BY 1, 2
)
SELECT series_id, extract(epoch FROM bucket)::bigint, sum(n)::bigint, sum(total), min(lo), max(hi),
       (array_agg(last_value ORDER BY last_at DESC))[1]
FROM parts GROUP BY 1, 2 ORDER BY 1, 2
"""


def _buckets_sql(ids, start, end, step):
    with connection.cursor() as cursor:
        cursor.execute(
            BUCKETS_SQL,
            {"step": timedelta(seconds=step), "origin": ORIGIN, "ids": ids, "start": start, "end": end},
        )
        rows = defaultdict(list)
        for series_id, at, count, total, minimum, maximum, last in cursor.fetchall():
            rows[series_id].append((at, (count, total, minimum, maximum, last)))
    return rows


def _bucket_of(ts, step):
    return int(ORIGIN.timestamp() + ((ts - ORIGIN).total_seconds() // step) * step)


def _buckets_python(ids, start, end, step):
    acc = defaultdict(dict)

    def add(series_id, bucket, count, total, minimum, maximum, last_at, last):
        parts = acc[series_id].get(bucket)
        if parts is None:
            acc[series_id][bucket] = [count, total, minimum, maximum, last_at, last]
            return
        parts[0] += count
        parts[1] += total
        parts[2] = min(parts[2], minimum)
        parts[3] = max(parts[3], maximum)
        if last_at >= parts[4]:
            parts[4], parts[5] = last_at, last

    samples = Sample.objects.filter(series_id__in=ids, ts__gte=start, ts__lt=end).order_by("ts")
    for series_id, ts, value in samples.values_list("series_id", "ts", "value").iterator():
        add(series_id, _bucket_of(ts, step), 1, value, value, value, ts, value)
    rollups = Rollup.objects.filter(series_id__in=ids, bucket__gte=start, bucket__lt=end)
    for series_id, bucket, count, total, minimum, maximum, last in rollups.values_list(
        "series_id", "bucket", "count", "total", "minimum", "maximum", "last"
    ).iterator():
        add(series_id, _bucket_of(bucket, step), count, total, minimum, maximum, bucket, last)
    return {
        series_id: [(bucket, (p[0], p[1], p[2], p[3], p[5])) for bucket, p in sorted(buckets.items())]
        for series_id, buckets in acc.items()
    }

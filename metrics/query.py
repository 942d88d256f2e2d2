"""Downsampled reads: at most one point per step per series.

On Postgres one statement computes the buckets (aligned with ``date_bin``)
over raw samples and the per-minute rollups that replaced old samples, merged
bucket by bucket, computing only what the asked aggregate needs. Raw samples
are read from the (series, ts) index alone, which carries the value
(migration 0004): in one pass for fine steps, bucket by bucket for coarse ones
(``PROBE_FROM_STEP``). ``bench/query.py`` measures both against the goals.
SQLite (the embedded shape) aggregates the same rows in Python.

``rate`` is the per-second rate of a counter, read in Python on both
databases from the ordered samples (``counter_rate``): it needs each sample's
predecessor, not a bucket's summary.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from django.db import connection, transaction
from django.utils import timezone

from metrics.models import Rollup, Sample, Series

AGGREGATES = ("avg", "min", "max", "sum", "count", "last")  # each step's summary (AGGREGATE_SQL)
RATE = "rate"  # a counter's per-second rise: needs each sample's predecessor (counter_rate)
QUERY_AGGREGATES = (*AGGREGATES, RATE)
MAX_POINTS_PER_SERIES = 10_000
DEFAULT_POINTS = 1_000
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)  # buckets align to whole steps since this instant


class SeriesPoints(TypedDict):
    name: str
    tags: dict[str, str]
    unit: str  # the stored series' unit ("" when none was given); a rate's is per second
    points: list[list[Any]]  # [epoch seconds, value]


# (count, total, minimum, maximum, last) of one bucket
BucketParts = tuple[int, float, float, float, float]


class InvalidQuery(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def default_step(start: datetime, end: datetime) -> int:
    return max(1, math.ceil((end - start).total_seconds() / DEFAULT_POINTS))


def with_tags(series: Iterable[Series], tags: Mapping[str, str]) -> list[Series]:
    """The series carrying every given tag exactly (JSON containment, done portably in Python)."""
    if not tags:
        return list(series)
    return [item for item in series if all(item.tags.get(key) == value for key, value in tags.items())]


def matching_series(name: str, tags: Mapping[str, str]) -> list[Series]:
    return with_tags(Series.objects.filter(name=name).order_by("tags_key"), tags)


def query_series(
    *,
    name: str,
    tags: Mapping[str, str] | None = None,
    start: datetime,
    end: datetime,
    step: int | None = None,
    agg: str = "avg",
) -> list[SeriesPoints]:
    """``[{"name", "tags", "points": [[epoch_seconds, value], ...]}]`` for every matching series.

    ``start`` is inclusive and ``end`` exclusive; points are bucket starts.
    """
    if agg not in QUERY_AGGREGATES:
        raise InvalidQuery("agg", f"must be one of {', '.join(QUERY_AGGREGATES)}")
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
    ids = [item.pk for item in series]
    if agg == RATE:
        points = _rate_points(ids, start, end, step)
    elif connection.vendor == "postgresql":
        points = _points_sql(ids, start, end, step, agg)
    else:
        points = {
            series_id: [[at, _pick(agg, parts)] for at, parts in buckets]
            for series_id, buckets in _buckets_python(ids, start, end, step).items()
        }
    return [
        {"name": item.name, "tags": item.tags, "unit": _unit(item.unit, agg), "points": points.get(item.pk, [])}
        for item in series
    ]


def _unit(unit: str, agg: str) -> str:
    if agg == "count":
        return ""
    return f"{unit}/s" if agg == RATE and unit else unit


def _pick(agg: str, parts: BucketParts) -> float | None:
    count, total, minimum, maximum, last = parts
    return {
        "avg": total / count if count else None,
        "min": minimum,
        "max": maximum,
        "sum": total,
        "count": count,
        "last": last,
    }[agg]


# Per aggregate: the columns a bucket of raw samples gives, the columns a
# bucket of rollups gives (in the same order), and how a bucket's parts from
# the two sources merge. Only what the aggregate needs is computed: a week is
# ~60,000 samples per series, and the ordered array_agg that "last" would need
# sorts all of them, several times what count and sum cost together.
AGGREGATE_SQL = {
    "avg": ("count(*) AS n, sum(value) AS total", "sum(count), sum(total)", "sum(total) / sum(n)"),
    "sum": ("sum(value) AS total", "sum(total)", "sum(total)"),
    "count": ("count(*) AS n", "sum(count)", "sum(n)::bigint"),
    "min": ("min(value) AS lo", "min(minimum)", "min(lo)"),
    "max": ("max(value) AS hi", "max(maximum)", "max(hi)"),
    "last": (
        None,
        "max(bucket), (array_agg(last ORDER BY bucket DESC))[1]",
        "(array_agg(last_value ORDER BY last_at DESC))[1]",
    ),
}

# Raw samples in one pass: every sample of the range, hashed into its bucket.
# Cheapest when buckets hold few samples each (short ranges, fine steps).
SCAN_SQL = """
SELECT series_id, date_bin(%(step)s, ts, %(origin)s) AS bucket, {columns}
FROM metrics_sample
WHERE series_id = ANY(%(ids)s) AND ts >= %(start)s AND ts < %(end)s
GROUP BY 1, 2
"""

# "last" in one pass: each bucket's newest timestamp, then its value, one
# index probe per bucket instead of sorting every sample.
SCAN_LAST_SQL = """
SELECT series_id, bucket, last_at,
       (SELECT value FROM metrics_sample AS newest
        WHERE newest.series_id = latest.series_id AND newest.ts = latest.last_at LIMIT 1) AS last_value
FROM (
    SELECT series_id, date_bin(%(step)s, ts, %(origin)s) AS bucket, max(ts) AS last_at
    FROM metrics_sample
    WHERE series_id = ANY(%(ids)s) AND ts >= %(start)s AND ts < %(end)s
    GROUP BY 1, 2
) AS latest
"""

# Raw samples bucket by bucket: one index range per bucket, aggregated as it
# is read, with no hashing of every sample into a bucket (which cost more than
# reading them: 28 ms against 16 ms for a week of one 10-second series in 500
# buckets). "last" reads one index entry per bucket. Worth it from a few dozen
# samples per bucket; an empty bucket still costs its probe.
PROBE_SQL = """
SELECT series.id AS series_id, buckets.bucket, raw.*
FROM unnest(%(ids)s::bigint[]) AS series(id),
     generate_series(date_bin(%(step)s, %(start)s::timestamptz, %(origin)s), %(end)s::timestamptz, %(step)s)
         AS buckets(bucket),
     LATERAL (
         SELECT {columns} FROM metrics_sample
         WHERE series_id = series.id
           AND ts >= greatest(buckets.bucket, %(start)s) AND ts < least(buckets.bucket + %(step)s, %(end)s)
         {tail}
     ) AS raw
"""
PROBE_FROM_STEP = 600  # seconds: ten minutes hold 10 to 120 samples of agents that report every 5 to 60 s

BUCKETS_SQL = """
WITH parts AS (
    {raw}
    UNION ALL
    SELECT series_id, date_bin(%(step)s, bucket, %(origin)s), {rollup_columns}
    FROM metrics_rollup
    WHERE series_id = ANY(%(ids)s) AND bucket >= %(start)s AND bucket < %(end)s
    GROUP BY 1, 2
)
SELECT series_id, extract(epoch FROM bucket)::bigint, {merged}
FROM parts GROUP BY 1, 2 ORDER BY 1, 2
"""


def buckets_sql(agg: str, step: int) -> str:
    """The one statement that answers ``agg`` on Postgres: ``(series_id, epoch seconds, value)`` rows."""
    columns, rollup_columns, merged = AGGREGATE_SQL[agg]
    if step < PROBE_FROM_STEP:
        raw = SCAN_LAST_SQL if agg == "last" else SCAN_SQL.format(columns=columns)
    elif agg == "last":
        raw = PROBE_SQL.format(columns="ts AS last_at, value AS last_value", tail="ORDER BY ts DESC LIMIT 1")
    else:
        # HAVING without GROUP BY: an empty bucket gives no row rather than a row of NULLs.
        raw = PROBE_SQL.format(columns=columns, tail="HAVING count(*) > 0")
    return BUCKETS_SQL.format(raw=raw, rollup_columns=rollup_columns, merged=merged)


def _points_sql(ids: list[int], start: datetime, end: datetime, step: int, agg: str) -> dict[int, list[list[Any]]]:
    # The planner cannot tell how many buckets there are and assumes one per
    # sample, so a week of several series (or "last", which it then thinks
    # probes the index once per sample) looks expensive enough to JIT-compile:
    # 30-40 ms of compiling for a statement that runs in 10-30 ms. Turning JIT
    # off costs a transaction and two more round trips, which on a busy machine
    # made a 1-hour query of one series four times slower (2 -> 8 ms); the
    # other aggregates of one series stay far below the JIT threshold.
    jit_off = len(ids) > 1 or agg == "last"
    with transaction.atomic() if jit_off else nullcontext(), connection.cursor() as cursor:
        if jit_off:
            cursor.execute("SET LOCAL jit = off")
        params: dict[str, Any] = {
            "step": timedelta(seconds=step),
            "origin": ORIGIN,
            "ids": ids,
            "start": start,
            "end": end,
        }
        cursor.execute(
            buckets_sql(agg, step),
            params,
        )
        points: defaultdict[int, list[list[Any]]] = defaultdict(list)
        for series_id, at, value in cursor.fetchall():
            points[series_id].append([at, value])
    return points


def _bucket_of(ts: datetime, step: int) -> int:
    return int(ORIGIN.timestamp() + ((ts - ORIGIN).total_seconds() // step) * step)


def _buckets_python(
    ids: list[int], start: datetime, end: datetime, step: int
) -> dict[int, list[tuple[int, BucketParts]]]:
    acc: defaultdict[int, dict[int, list[Any]]] = defaultdict(dict)

    def add(
        series_id: int,
        bucket: int,
        count: int,
        total: float,
        minimum: float,
        maximum: float,
        last_at: datetime,
        last: float,
    ) -> None:
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


def counter_rate(samples: Iterable[tuple[float, float]], start: float, step: int) -> list[list[Any]]:
    """``[[bucket start, per-second rate], ...]`` of a counter from its ``(epoch seconds, value)`` samples, in order.

    Each step's increase is the sum, over every sample in it, of the rise
    from the sample before (which may lie in the step before, or before
    ``start``); a drop means the counter restarted from zero, so the rise is
    the new value itself, as Prometheus' ``rate()`` counts it. The rate is
    that increase over the step's length. A step without a sample that has
    a predecessor has no point. Summing ``rate * step`` over the steps gives
    the counter's total increase over the range.
    """
    increases: dict[int, float] = {}
    previous: float | None = None
    origin = ORIGIN.timestamp()
    for at, value in samples:
        if previous is not None and at >= start:
            bucket = int(origin + ((at - origin) // step) * step)
            rise = value - previous if value >= previous else value
            increases[bucket] = increases.get(bucket, 0.0) + rise
        previous = value
    return [[bucket, increase / step] for bucket, increase in sorted(increases.items())]


def _rate_points(ids: list[int], start: datetime, end: datetime, step: int) -> dict[int, list[list[Any]]]:
    # One step before the range: the first sample in it needs its predecessor.
    lookback = start - timedelta(seconds=step)
    samples: defaultdict[int, list[tuple[float, float]]] = defaultdict(list)
    rows = Sample.objects.filter(series_id__in=ids, ts__gte=lookback, ts__lt=end).values_list(
        "series_id", "ts", "value"
    )
    for series_id, ts, value in rows.iterator():
        samples[series_id].append((ts.timestamp(), value))
    # Minutes old enough to be rolled up keep their last value: the counter as it stood at the minute's end.
    rollups = Rollup.objects.filter(series_id__in=ids, bucket__gte=lookback, bucket__lt=end)
    for series_id, bucket, last in rollups.values_list("series_id", "bucket", "last").iterator():
        samples[series_id].append((bucket.timestamp() + 59, last))
    first = start.timestamp()
    return {series_id: counter_rate(sorted(points), first, step) for series_id, points in samples.items()}


def recent_series(
    metrics: Iterable[str], tags: Mapping[str, str], minutes: int, agg: str = "avg"
) -> list[SeriesPoints]:
    """The last ``minutes`` of each of ``metrics``, as ``query_series`` gives them (``request_data``)."""
    end = timezone.now()
    start = end - timedelta(minutes=minutes)
    series: list[SeriesPoints] = []
    for name in metrics:
        series.extend(query_series(name=name, tags=tags, start=start, end=end, agg=agg))
    return series

"""Storing points and telling the sockets what changed.

``ingest_points`` is the one write path: the REST ingest endpoint and the host
collector both use it. It commits before it returns.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypedDict

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from metrics.models import IngestCounter, Sample, Series
from metrics.points import Point
from metrics.query import with_tags
from opsconsole import telemetry
from realtime.publish import publish
from realtime.topics import METRICS

PUSH_SERIES_LIMIT = 500
SAMPLE_TYPES = ["int8", "timestamptz", "float8"]
LAST_BROADCAST_KEY = "metrics:last-broadcast"


SampleRow = tuple[int, datetime, float]  # (series id, ts, value)


class LatestValue(TypedDict):
    name: str
    tags: dict[str, str]
    value: float | None
    timestamp: str | None


def _series_ids(points: Iterable[Point]) -> dict[tuple[str, str], int]:
    """Ids of the series the points belong to, creating the missing ones."""
    wanted = {(point.name, point.tags_key): point.tags for point in points}
    ids: dict[tuple[str, str], int] = {}
    names = {name for name, _ in wanted}
    keys = {key for _, key in wanted}
    for row in Series.objects.filter(name__in=names, tags_key__in=keys).values_list("name", "tags_key", "id"):
        ids[(row[0], row[1])] = row[2]
    # In one order for every writer: two batches inserting the same new series
    # in different orders each wait on the other's row, a deadlock.
    missing = sorted(identity for identity in wanted if identity not in ids)
    units = {(point.name, point.tags_key): point.unit for point in points if point.unit}
    if missing:
        Series.objects.bulk_create(
            [
                Series(name=name, tags_key=key, tags=wanted[(name, key)], unit=units.get((name, key), ""))
                for name, key in missing
            ],
            ignore_conflicts=True,
        )
        for row in Series.objects.filter(
            name__in={n for n, _ in missing}, tags_key__in={k for _, k in missing}
        ).values_list("name", "tags_key", "id"):
            ids[(row[0], row[1])] = row[2]
    for identity, unit in sorted(units.items()):
        # The sender's latest word on the unit; most batches name none, or the one already stored.
        Series.objects.filter(pk=ids[identity]).exclude(unit=unit).update(unit=unit)
    return ids


def _write_samples(rows: list[SampleRow]) -> None:
    if connection.vendor == "postgresql":
        # Binary COPY is the bulk path: one round trip for the whole batch,
        # rows encoded by psycopg's C code, and no text for the server to parse.
        copy_sql = "COPY metrics_sample (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
        with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            copy.set_types(SAMPLE_TYPES)
            write_row = copy.write_row
            for row in rows:
                write_row(row)
    else:
        Sample.objects.bulk_create([Sample(series_id=s, ts=t, value=v) for s, t, v in rows], batch_size=500)


def _update_latest(latest: dict[int, tuple[datetime, float]]) -> None:
    """Move each series' last value forward (never backward: late points don't win)."""
    if connection.vendor == "postgresql" and latest:
        ids = sorted(latest)
        values = ", ".join(["(%s, %s::timestamptz, %s::double precision)"] * len(ids))
        params = [item for series_id in ids for item in (series_id, *latest[series_id])]
        with connection.cursor() as cursor:
            # Lock the rows in id order first: two batches touching the same
            # series then queue behind each other instead of deadlocking.
            cursor.execute("SELECT id FROM metrics_series WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids])
            # Only placeholders are formatted into the statement; the values are parameters.
            cursor.execute(
                "UPDATE metrics_series AS s SET last_at = v.ts, last_value = v.value "  # noqa: S608
                f"FROM (VALUES {values}) AS v(id, ts, value) "
                "WHERE s.id = v.id AND (s.last_at IS NULL OR s.last_at <= v.ts)",
                params,
            )
        return
    for series_id, (ts, value) in latest.items():
        Series.objects.filter(pk=series_id).exclude(last_at__gt=ts).update(last_at=ts, last_value=value)


def _count(points: int) -> None:
    updated = IngestCounter.objects.filter(pk=1).update(points=F("points") + points)
    if not updated:
        IngestCounter.objects.get_or_create(pk=1, defaults={"points": 0})
        IngestCounter.objects.filter(pk=1).update(points=F("points") + points)


def ingest_points(points: Sequence[Point]) -> int:
    """Store valid points in one transaction, committed when this returns; returns how many.

    ``points`` are ``metrics.points.Point`` tuples, as ``parse_points`` and
    the collector make them. All or nothing. After commit the changed series'
    latest values are pushed as ``metrics`` on the metrics topic.
    """
    if not points:
        return 0
    with transaction.atomic():
        ids = _series_ids(points)
        rows = [(ids[(name, key)], ts, value) for name, key, _, ts, value, _ in points]
        _write_samples(rows)
        latest: dict[int, tuple[datetime, float]] = {}
        for series_id, ts, value in rows:
            if series_id not in latest or latest[series_id][0] <= ts:
                latest[series_id] = (ts, value)
        _update_latest(latest)
        _count(len(rows))
        changed = list(latest)[:PUSH_SERIES_LIMIT]
        transaction.on_commit(lambda: _push_latest(Series.objects.filter(pk__in=changed)))
    telemetry.ingest_points.labels("accepted").inc(len(rows))
    return len(rows)


def latest_payload(series: Series) -> LatestValue:
    return {
        "name": series.name,
        "tags": series.tags,
        "value": series.last_value,
        "timestamp": series.last_at.isoformat() if series.last_at else None,
    }


def _push_latest(queryset: QuerySet[Series]) -> list[LatestValue]:
    series = [latest_payload(item) for item in queryset.order_by("name", "tags_key")[:PUSH_SERIES_LIMIT]]
    if series:
        publish(METRICS, "metrics", {"series": series})
    return series


def broadcast_latest() -> list[LatestValue]:
    """The periodic ``metrics`` push: latest values of series that changed since the last one."""
    now = timezone.now()
    since = cache.get(LAST_BROADCAST_KEY)
    queryset = Series.objects.filter(last_at__isnull=False)
    if since is not None:
        queryset = queryset.filter(last_at__gt=since)
    cache.set(LAST_BROADCAST_KEY, now, timeout=None)
    return _push_latest(queryset)


def metrics_stats() -> dict[str, int]:
    """Series stored and points accepted so far, without counting the samples table."""
    counter = IngestCounter.objects.filter(pk=1).values_list("points", flat=True).first()
    return {"series": Series.objects.count(), "points_ingested": counter or 0}


def host_names() -> list[str]:
    """Every host a series is tagged with, and the console's own (measured before its first point is stored), sorted."""
    from metrics.collector import host_name

    tagged = Series.objects.filter(tags__has_key="host").values_list("tags", flat=True)
    return sorted({host_name(), *(str(tags["host"]) for tags in tagged if tags.get("host"))})


def latest_values(*, name: str | None = None, tags: Mapping[str, str] | None = None) -> list[Series]:
    """Series with their last value, optionally narrowed by name and exact tags."""
    queryset = Series.objects.filter(last_at__isnull=False)
    if name:
        queryset = queryset.filter(name=name)
    return with_tags(queryset.order_by("name", "tags_key"), tags or {})

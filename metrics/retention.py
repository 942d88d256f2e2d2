"""Retention: raw points older than OPSCONSOLE_RETENTION_DAYS become per-minute rollups.

Work goes in slices of ``SLICE`` of data, each in its own short transaction,
so the samples table is never locked for long and an interrupted run simply
continues next time. Query answers for the covered ranges stay the same at
one-minute resolution and coarser.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from metrics.models import Rollup, Sample

SLICE = timedelta(minutes=10)

ROLLUP_SQL = """
INSERT INTO metrics_rollup (series_id, bucket, count, total, minimum, maximum, last)
SELECT series_id, date_trunc('minute', ts), count(*), sum(value), min(value), max(value),
       (array_agg(value ORDER BY ts DESC))[1]
FROM metrics_sample WHERE ts >= %(start)s AND ts < %(end)s
GROUP BY 1, 2
ON CONFLICT (series_id, bucket) DO UPDATE SET
    count = metrics_rollup.count + EXCLUDED.count,
    total = metrics_rollup.total + EXCLUDED.total,
    minimum = LEAST(metrics_rollup.minimum, EXCLUDED.minimum),
    maximum = GREATEST(metrics_rollup.maximum, EXCLUDED.maximum),
    last = EXCLUDED.last
"""


def _minute(ts):
    return ts.replace(second=0, microsecond=0)


def _roll_up_in_python(start, end):
    # (series id, minute) -> [count, total, minimum, maximum, last]
    parts: dict[tuple[int, datetime], list[float]] = {}
    rows = Sample.objects.filter(ts__gte=start, ts__lt=end).order_by("ts").values_list("series_id", "ts", "value")
    for series_id, ts, value in rows.iterator():
        entry = parts.get((series_id, _minute(ts)))
        if entry is None:
            parts[(series_id, _minute(ts))] = [1, value, value, value, value]
            continue
        entry[0] += 1
        entry[1] += value
        entry[2] = min(entry[2], value)
        entry[3] = max(entry[3], value)
        entry[4] = value
    for (series_id, bucket), (count, total, minimum, maximum, last) in parts.items():
        rollup = Rollup.objects.select_for_update().filter(series_id=series_id, bucket=bucket).first()
        if rollup is None:
            Rollup.objects.create(
                series_id=series_id,
                bucket=bucket,
                count=int(count),
                total=total,
                minimum=minimum,
                maximum=maximum,
                last=last,
            )
            continue
        rollup.count += int(count)
        rollup.total += total
        rollup.minimum = min(rollup.minimum, minimum)
        rollup.maximum = max(rollup.maximum, maximum)
        rollup.last = last
        rollup.save()


def apply_retention(now=None):
    """Roll up and delete raw points older than the retention period; returns how many were removed."""
    cutoff = _minute((now or timezone.now()) - timedelta(days=settings.OPSCONSOLE_RETENTION_DAYS))
    removed = 0
    while True:
        oldest = Sample.objects.filter(ts__lt=cutoff).aggregate(oldest=Min("ts"))["oldest"]
        if oldest is None:
            return removed
        start = _minute(oldest)
        end = min(cutoff, start + SLICE)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(ROLLUP_SQL, {"start": start, "end": end})
            else:
                _roll_up_in_python(start, end)
            deleted, _ = Sample.objects.filter(ts__gte=start, ts__lt=end).delete()
        removed += deleted

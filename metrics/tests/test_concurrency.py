"""Concurrent batches on the same series queue behind each other instead of deadlocking."""

import threading

import pytest
from django.db import connection

from metrics.models import Sample, Series
from metrics.services import ingest_points, metrics_stats
from tests.factories import make_points

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_batches_over_the_same_series_all_commit():
    hosts = [f"h{n}" for n in range(40)]
    batches = [
        make_points(
            *({"name": "m", "value": float(n), "tags": {"host": host}} for host in (hosts if n % 2 else hosts[::-1]))
        )
        for n in range(8)
    ]
    failures = []

    def push(batch):
        try:
            ingest_points(batch)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=push, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert Sample.objects.count() == 8 * 40 and Series.objects.count() == 40
    assert metrics_stats() == {"series": 40, "points_ingested": 320}

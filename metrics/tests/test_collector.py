"""The host collector job stores its snapshot, so history survives restarts, and pushes it."""

import pytest

from metrics.collector import collect_host_metrics
from metrics.models import Series
from realtime.tests.streams import published_count

pytestmark = pytest.mark.django_db


def test_a_snapshot_is_stored_as_host_tagged_series_and_pushed(django_capture_on_commit_callbacks):
    before = {type_: published_count("metrics", type_) for type_ in ("performance", "metrics")}
    with django_capture_on_commit_callbacks(execute=True):
        snapshot = collect_host_metrics()
    names = set(Series.objects.filter(tags__host=snapshot["host"]).values_list("name", flat=True))
    assert {
        "cpu_percent",
        "memory_percent",
        "disk_usage_percent",
        "process_count",
        "network_bytes_sent",
        "load_1m",
    } <= names
    assert all(published_count("metrics", type_) > count for type_, count in before.items())
    assert 0 <= snapshot["memory_percent"] <= 100


def test_cpu_use_is_measured_from_any_thread():
    import threading
    import time

    from metrics.collector import cpu_percent

    cpu_percent()
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        pass  # keep a core busy
    results = []
    thread = threading.Thread(target=lambda: results.append(cpu_percent()))
    thread.start()
    thread.join()
    assert 0.0 < results[0] <= 100.0

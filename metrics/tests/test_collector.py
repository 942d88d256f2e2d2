"""The host collector job stores its snapshot, so history survives restarts, and pushes it."""

import pytest

from metrics.collector import collect_host_metrics
from metrics.models import Series
from realtime.replay import replay_buffer

pytestmark = pytest.mark.django_db


def test_a_snapshot_is_stored_as_host_tagged_series_and_pushed(django_capture_on_commit_callbacks):
    before = replay_buffer().latest_seq("metrics")
    with django_capture_on_commit_callbacks(execute=True):
        snapshot = collect_host_metrics()
    names = set(Series.objects.filter(tags__host=snapshot["host"]).values_list("name", flat=True))
    assert {"cpu_percent", "memory_percent", "disk_usage_percent", "process_count", "network_bytes_sent", "load_1m"} <= names
    types = [event["type"] for event in replay_buffer().since("metrics", before)]
    assert "performance" in types and "metrics" in types
    assert 0 <= snapshot["memory_percent"] <= 100

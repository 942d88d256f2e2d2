"""Measuring the console's own host with psutil (the "collect host metrics" job)."""

import socket

import psutil
from django.conf import settings
from django.utils import timezone

from metrics.points import Point, tags_key
from metrics.services import ingest_points
from realtime.publish import publish
from realtime.topics import METRICS

# The first cpu_percent() call has nothing to compare with and answers 0.0;
# priming it at import makes the first real snapshot meaningful.
psutil.cpu_percent(interval=None)


def host_name():
    return settings.OPSCONSOLE_HOSTNAME or socket.gethostname()


def host_snapshot():
    """The ``performance`` payload of contract section 3 for this host, now."""
    network = psutil.net_io_counters()
    load_1m, load_5m, load_15m = psutil.getloadavg()
    return {
        "host": host_name(),
        "cpu_percent": psutil.cpu_percent(interval=None),
        "memory_percent": psutil.virtual_memory().percent,
        "disk_usage_percent": psutil.disk_usage("/").percent,
        "network_io": {"bytes_sent": network.bytes_sent, "bytes_recv": network.bytes_recv},
        "process_count": len(psutil.pids()),
        "load_1m": load_1m,
        "load_5m": load_5m,
        "load_15m": load_15m,
    }


STORED_FIELDS = (
    "cpu_percent", "memory_percent", "disk_usage_percent", "process_count", "load_1m", "load_5m", "load_15m",
)


def snapshot_points(snapshot, at):
    """The snapshot as metric points tagged with its host, so history survives restarts."""
    tags = {"host": snapshot["host"]}
    values = {field: snapshot[field] for field in STORED_FIELDS}
    values["network_bytes_sent"] = snapshot["network_io"]["bytes_sent"]
    values["network_bytes_recv"] = snapshot["network_io"]["bytes_recv"]
    return [Point(name, tags_key(tags), tags, at, float(value)) for name, value in values.items()]


def collect_host_metrics():
    """Take a snapshot, store it as points and push it as ``performance``; returns the snapshot."""
    snapshot = host_snapshot()
    ingest_points(snapshot_points(snapshot, timezone.now()))
    publish(METRICS, "performance", snapshot)
    return snapshot

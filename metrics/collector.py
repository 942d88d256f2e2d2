"""Measuring the console's own host with psutil (the "collect host metrics" job)."""

import socket
import threading

import psutil
from django.conf import settings
from django.utils import timezone

from metrics.points import Point, tags_key
from metrics.services import ingest_points
from realtime.publish import publish
from realtime.topics import METRICS

# CPU use is the busy share of the CPU time spent since the previous
# snapshot. psutil.cpu_percent(interval=None) keeps that baseline per thread,
# and the jobs run on pool threads, where it would answer 0.0 every time; the
# baseline is kept here instead, shared and locked.
_cpu_lock = threading.Lock()
_cpu_before = psutil.cpu_times()


def _busy(times):
    idle = times.idle + getattr(times, "iowait", 0.0)
    # guest time is already counted in user/nice on Linux
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    return sum(times) - idle - guest, sum(times) - guest


def cpu_percent():
    """Busy CPU share since the previous call, from any thread."""
    global _cpu_before
    with _cpu_lock:
        now = psutil.cpu_times()
        before, _cpu_before = _cpu_before, now
    busy_now, total_now = _busy(now)
    busy_before, total_before = _busy(before)
    elapsed = total_now - total_before
    if elapsed <= 0:
        return 0.0
    return round(min(100.0, max(0.0, 100.0 * (busy_now - busy_before) / elapsed)), 1)


def host_name() -> str:
    return settings.OPSCONSOLE_HOSTNAME or socket.gethostname()


def host_snapshot():
    """The ``performance`` payload of contract section 3 for this host, now."""
    network = psutil.net_io_counters()
    load_1m, load_5m, load_15m = psutil.getloadavg()
    return {
        "host": host_name(),
        "cpu_percent": cpu_percent(),
        "memory_percent": psutil.virtual_memory().percent,
        "disk_usage_percent": psutil.disk_usage("/").percent,
        "network_io": {"bytes_sent": network.bytes_sent, "bytes_recv": network.bytes_recv},
        "process_count": len(psutil.pids()),
        "load_1m": load_1m,
        "load_5m": load_5m,
        "load_15m": load_15m,
    }


STORED_FIELDS = (
    "cpu_percent",
    "memory_percent",
    "disk_usage_percent",
    "process_count",
    "load_1m",
    "load_5m",
    "load_15m",
)


UNITS = {  # the agent's (metrics/agent.py), for the same series
    "cpu_percent": "%",
    "memory_percent": "%",
    "disk_usage_percent": "%",
    "network_bytes_sent": "By",
    "network_bytes_recv": "By",
}


def snapshot_points(snapshot, at):
    """The snapshot as metric points tagged with its host, so history survives restarts."""
    tags = {"host": snapshot["host"]}
    values = {field: snapshot[field] for field in STORED_FIELDS}
    values["network_bytes_sent"] = snapshot["network_io"]["bytes_sent"]
    values["network_bytes_recv"] = snapshot["network_io"]["bytes_recv"]
    return [Point(name, tags_key(tags), tags, at, float(value), UNITS.get(name, "")) for name, value in values.items()]


def collect_host_metrics():
    """Take a snapshot, store it as points and push it as ``performance``; returns the snapshot."""
    snapshot = host_snapshot()
    ingest_points(snapshot_points(snapshot, timezone.now()))
    publish(METRICS, "performance", snapshot)
    return snapshot

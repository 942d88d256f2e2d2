"""The dashboard: the one page that draws on every app."""

from datetime import UTC, datetime, timedelta

from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone

from accounts.access import staff_required
from alerts.models import Alert, Incident, IncidentStatus
from alerts.payloads import alert_data
from alerts.services import alert_summary
from metrics.collector import STORED_FIELDS, host_name, host_snapshot
from metrics.query import query_series
from metrics.services import latest_values
from realtime.replay import stream_position
from realtime.topics import ALERTS, METRICS

HISTORY = timedelta(minutes=30)
HISTORY_STEP_SECONDS = 10
RECENT_EVENTS = 20
TRAFFIC_COUNTERS = {"sent": "network_bytes_sent", "recv": "network_bytes_recv"}
TRAFFIC_STEP_SECONDS = 30


def traffic_history(now):
    """Each host's send and receive rates (bytes/s) over the last half hour, from its byte counters (agg=rate)."""
    hosts: dict[str, dict[str, list]] = {}
    # Whole steps only: the step still under way would read as a drop in traffic.
    end = datetime.fromtimestamp(now.timestamp() // TRAFFIC_STEP_SECONDS * TRAFFIC_STEP_SECONDS, tz=UTC)
    for direction, name in TRAFFIC_COUNTERS.items():
        for series in query_series(name=name, start=end - HISTORY, end=end, step=TRAFFIC_STEP_SECONDS, agg="rate"):
            host = series["tags"].get("host", "")
            hosts.setdefault(host, {"sent": [], "recv": []})[direction] = series["points"]
    return {"step": TRAFFIC_STEP_SECONDS, "minutes": int(HISTORY.total_seconds() // 60), "hosts": hosts}


def last_snapshot(host):
    """The host's last stored values; a fresh measurement only when nothing is stored yet.

    Measuring CPU in a request would reset psutil's baseline and skew the
    collector's next reading, so the page prefers what the job stored.
    """
    stored = {series.name: series.last_value for series in latest_values(tags={"host": host})}
    if all(field in stored for field in STORED_FIELDS):
        return {"host": host, **{field: stored[field] for field in STORED_FIELDS}}
    return host_snapshot()


@staff_required
def dashboard(request):
    # The first paint carries a real snapshot, the last half hour and the
    # alert counts, so the page is useful before (and without) the socket.
    seq = {topic: stream_position(topic) for topic in (ALERTS, METRICS)}  # before the data
    host = host_name()
    now = timezone.now()
    history = {
        name: query_series(name=name, tags={"host": host}, start=now - HISTORY, end=now, step=HISTORY_STEP_SECONDS)
        for name in ("cpu_percent", "memory_percent")
    }
    state = {
        "host": host,
        "snapshot": last_snapshot(host),
        "snapshot_at": now.isoformat(),
        "history": {name: (series[0]["points"] if series else []) for name, series in history.items()},
        "summary": alert_summary(),
        "open_incidents": Incident.objects.exclude(status=IncidentStatus.RESOLVED).count(),
        # The event log starts with the latest alert changes rather than empty.
        "recent_alerts": [alert_data(alert) for alert in Alert.objects.order_by("-updated_at", "-id")[:RECENT_EVENTS]],
        "traffic": traffic_history(now),
        "seq": seq,
    }
    return render(request, "dashboard.html", {"state": state, "snapshot": state["snapshot"], "host": host, "now": now})


def favicon(request):
    """The console's icon for browsers that ask for /favicon.ico (the admin and the API's pages name none)."""
    return redirect(static("favicon.svg"))

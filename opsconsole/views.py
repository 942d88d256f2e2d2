"""The dashboard: the one page that draws on every app."""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone

from accounts.access import staff_required
from alerts.models import Alert, Incident, IncidentStatus
from alerts.payloads import alert_data
from alerts.services import alert_summary
from metrics.collector import STORED_FIELDS, UNITS, host_name, host_snapshot
from metrics.models import Series
from metrics.points import tags_key
from metrics.query import query_series
from metrics.services import host_names, latest_values
from realtime.replay import stream_position
from realtime.topics import ALERTS, METRICS

HISTORY = timedelta(minutes=30)
HISTORY_STEP_SECONDS = 10
RECENT_EVENTS = 20
TREND_METRICS = ("cpu_percent", "memory_percent")
ALL_HOSTS = "all"
# Small multiples past this many hosts would be too small to read and too many charts to draw.
SMALL_MULTIPLES_LIMIT = 12
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
    if host == host_name() and not all(field in stored for field in STORED_FIELDS):
        return host_snapshot()
    # Another host shows what it sent; a field it never sent stays empty.
    return {"host": host, **{field: stored.get(field) for field in STORED_FIELDS}}


def trend_history(now, hosts):
    """``{host: {metric: points}}`` for the dashboard's trend charts over the last half hour."""
    history: dict[str, dict[str, list]] = {host: {name: [] for name in TREND_METRICS} for host in hosts}
    tags = {"host": hosts[0]} if len(hosts) == 1 else {}
    for name in TREND_METRICS:
        for series in query_series(name=name, tags=tags, start=now - HISTORY, end=now, step=HISTORY_STEP_SECONDS):
            host = series["tags"].get("host")
            # The host's own series only: a series with more tags than the host is another measurement.
            if host in history and len(series["tags"]) == 1:
                history[host][name] = series["points"]
    return history


def first_steps():
    """What a fresh install lacks: a metric sent by anything but the console's own collector, and an alert."""
    collected = [*STORED_FIELDS, *UNITS]
    sent = Series.objects.exclude(name__in=collected, tags_key=tags_key({"host": host_name()})).exists()
    return {"metric": not sent, "alert": not Alert.objects.exists()}


@staff_required
def dashboard(request):
    # The first paint carries a real snapshot, the last half hour and the
    # alert counts, so the page is useful before (and without) the socket.
    seq = {topic: stream_position(topic) for topic in (ALERTS, METRICS)}  # before the data
    own = host_name()
    hosts = host_names()
    chosen = request.GET.get("host") or own
    if chosen != ALL_HOSTS and chosen not in hosts:
        hosts = sorted([*hosts, chosen])  # a linked host whose first point is on its way is offered anyway
    shown = hosts[:SMALL_MULTIPLES_LIMIT] if chosen == ALL_HOSTS else [chosen]
    now = timezone.now()
    history = trend_history(now, shown)
    state = {
        "host": chosen,
        "own_host": own,
        "hosts": hosts,
        "shown_hosts": shown,
        "collect_interval_ms": int(settings.OPSCONSOLE_COLLECT_INTERVAL * 1000),
        "snapshot": last_snapshot(shown[0]) if chosen != ALL_HOSTS else {},
        "snapshot_at": now.isoformat(),
        "history": history[chosen] if chosen != ALL_HOSTS else {},
        "host_history": history if chosen == ALL_HOSTS else {},
        "first_steps": first_steps(),
        "summary": alert_summary(),
        "open_incidents": Incident.objects.exclude(status=IncidentStatus.RESOLVED).count(),
        # The event log starts with the latest alert changes rather than empty.
        "recent_alerts": [alert_data(alert) for alert in Alert.objects.order_by("-updated_at", "-id")[:RECENT_EVENTS]],
        "traffic": traffic_history(now),
        "seq": seq,
    }
    context = {
        "state": state,
        "snapshot": state["snapshot"],
        "host": chosen,
        "now": now,
        "all_hosts": chosen == ALL_HOSTS,
    }
    return render(request, "dashboard.html", {**context, "hidden_hosts": len(hosts) - len(shown)})


def favicon(request):
    """The console's icon for browsers that ask for /favicon.ico (the admin and the API's pages name none)."""
    return redirect(static("favicon.svg"))

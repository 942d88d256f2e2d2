"""The dashboard: the one page that draws on every app."""

from django.shortcuts import render
from django.utils import timezone

from accounts.access import staff_required
from metrics.collector import host_name, host_snapshot


@staff_required
def dashboard(request):
    # The first paint carries a real snapshot, so the page is useful before
    # (and without) the socket.
    snapshot = host_snapshot()
    snapshot_at = timezone.now().isoformat()
    state = {"host": host_name(), "snapshot": snapshot, "snapshot_at": snapshot_at}
    return render(
        request,
        "dashboard.html",
        {"host": host_name(), "snapshot": snapshot, "snapshot_at": snapshot_at, "dashboard_state": state},
    )

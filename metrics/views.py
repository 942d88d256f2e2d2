"""The metrics explorer page."""

from django.shortcuts import render

from accounts.access import staff_required
from metrics.collector import STORED_FIELDS
from metrics.models import Series
from metrics.services import host_names
from realtime.replay import stream_position
from realtime.topics import METRICS


@staff_required
def explorer(request):
    seq = stream_position(METRICS)  # before the data
    series = Series.objects.order_by("name", "tags_key").values("name", "tags")
    # The console's own host metrics are always offered, even before their first point is stored.
    names = sorted({*STORED_FIELDS, *(row["name"] for row in series)})
    hosts = host_names()
    return render(request, "metrics/explorer.html", {"state": {"names": names, "hosts": hosts, "seq": seq}})

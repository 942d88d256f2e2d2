"""The alert centre and incident pages: server-rendered first paint, then live."""

from django.shortcuts import get_object_or_404, render

from accounts.access import staff_required
from alerts import incidents as incident_services
from alerts.api.serializers import TimelineEntrySerializer
from alerts.models import Alert, AlertStatus, Incident, IncidentStatus
from alerts.payloads import alert_data, incident_data
from alerts.services import alert_summary
from realtime.replay import stream_position
from realtime.topics import ALERTS
from runbooks.checklists import incident_checklists
from runbooks.models import Runbook

FIRST_PAINT_ROWS = 200


@staff_required
def alert_centre(request):
    seq = stream_position(ALERTS)
    unresolved = Alert.objects.exclude(status=AlertStatus.RESOLVED).order_by("-last_seen_at", "-id")[:FIRST_PAINT_ROWS]
    recent_resolved = Alert.objects.filter(status=AlertStatus.RESOLVED).order_by("-last_seen_at", "-id")[:50]
    state = {
        "alerts": [alert_data(alert) for alert in [*unresolved, *recent_resolved]],
        "summary": alert_summary(),
        "seq": seq,
    }
    return render(request, "alerts/alert_centre.html", {"state": state})


@staff_required
def incident_list(request):
    seq = stream_position(ALERTS)
    rows = Incident.objects.select_related("commander").prefetch_related("alerts").order_by("-opened_at", "-id")[:200]
    state = {"incidents": [incident_data(incident) for incident in rows], "seq": seq}
    return render(request, "alerts/incident_list.html", {"state": state, "statuses": IncidentStatus.choices})


@staff_required
def incident_detail(request, incident_id):
    seq = stream_position(ALERTS)
    incident = get_object_or_404(
        Incident.objects.select_related("commander").prefetch_related("alerts"), pk=incident_id
    )
    alerts = [alert_data(alert) for alert in incident.alerts.order_by("-last_seen_at")]
    # The runbooks the attached alerts call for come first in the "run a runbook" choice.
    suggested = list(dict.fromkeys(link["id"] for alert in alerts for link in alert["runbooks"] if link["id"]))
    others = Runbook.objects.exclude(pk__in=suggested).order_by("title", "id").values_list("id", "title")[:500]
    titles = dict(Runbook.objects.filter(pk__in=suggested).values_list("id", "title"))
    state = {
        "incident": incident_data(incident),
        "alerts": alerts,
        "timeline": TimelineEntrySerializer(incident_services.timeline(incident.pk), many=True).data,
        "checklists": incident_checklists(incident.pk),
        "runbooks": [
            *({"id": pk, "title": titles[pk], "suggested": True} for pk in suggested if pk in titles),
            *({"id": pk, "title": title, "suggested": False} for pk, title in others),
        ],
        "seq": seq,
    }
    return render(
        request,
        "alerts/incident_detail.html",
        {"state": state, "incident": incident, "statuses": IncidentStatus.choices},
    )

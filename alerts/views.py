"""The alert centre and incident pages: server-rendered first paint, then live."""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import staff_required
from alerts import incidents as incident_services
from alerts.api.serializers import SilenceSerializer, TimelineEntrySerializer
from alerts.evidence import incident_evidence
from alerts.models import Alert, AlertStatus, Incident, IncidentStatus, Silence
from alerts.payloads import alert_data, incident_data
from alerts.series import alert_series
from alerts.services import alert_summary, alert_timeline
from realtime.replay import stream_position
from realtime.topics import ALERTS
from runbooks.checklists import incident_checklists
from runbooks.models import Runbook

FIRST_PAINT_ROWS = 200
SILENCE_ROWS = 200
RECENTLY_ENDED = timedelta(days=7)
RECENTLY_ENDED_ROWS = 50
# Monday 0 … Sunday 6, as a silence's repeat_days counts them.
WEEKDAY_NAMES = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


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
        "evidence": incident_evidence(incident.pk),
        "runbooks": [
            *({"id": pk, "title": titles[pk], "suggested": True} for pk in suggested if pk in titles),
            *({"id": pk, "title": title, "suggested": False} for pk, title in others),
        ],
        "seq": seq,
    }
    # Who may command: the staff accounts that may use the console.
    commanders = get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")
    return render(
        request,
        "alerts/incident_detail.html",
        {
            "state": state,
            "incident": incident,
            "statuses": IncidentStatus.choices,
            "commanders": [user.get_username() for user in commanders],
        },
    )


@staff_required
def alert_detail(request, alert_id):
    seq = stream_position(ALERTS)  # before the data
    alert = get_object_or_404(Alert.objects.select_related("rule", "incident"), pk=alert_id)
    data = alert_data(alert)
    state = {
        "alert": data,
        "timeline": TimelineEntrySerializer(alert_timeline(alert.pk), many=True).data,
        "series": alert_series(alert),
        "seq": seq,
    }
    # "Silence similar" opens the silence form with the alert's labels as its matchers.
    matchers = [("match", f"{key}={value}") for key, value in data["labels"].items() if value is not None]
    context = {
        "state": state,
        "alert": data,
        "incident": alert.incident,
        "silence_url": f"{reverse('silence-list')}?{urlencode(matchers)}",
    }
    return render(request, "alerts/alert_detail.html", context)


@staff_required
def silence_list(request):
    seq = stream_position(ALERTS)  # before the data
    now = timezone.now()
    current = Silence.objects.filter(ends_at__gt=now).order_by("starts_at", "id")[:SILENCE_ROWS]
    ended = Silence.objects.filter(ends_at__lte=now, ends_at__gt=now - RECENTLY_ENDED).order_by("-ends_at", "-id")
    state = {
        "silences": SilenceSerializer([*current, *ended[:RECENTLY_ENDED_ROWS]], many=True).data,
        "seq": seq,
    }
    return render(request, "alerts/silence_list.html", {"state": state, "weekdays": WEEKDAY_NAMES})

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from alerts.api.channels import ChannelViewSet, DeliveryViewSet
from alerts.api.evidence import IncidentEvidenceView, IncidentReportView
from alerts.api.integrations import AlertmanagerView, PagerDutyView
from alerts.api.views import AlertViewSet, IncidentViewSet, RuleViewSet, SilenceViewSet, StatsView

router = SimpleRouter(trailing_slash=True)
router.register("alerts", AlertViewSet, basename="alert")
router.register("incidents", IncidentViewSet, basename="incident")
router.register("rules", RuleViewSet, basename="rule")
router.register("silences", SilenceViewSet, basename="silence")
router.register("channels", ChannelViewSet, basename="channel")
router.register("deliveries", DeliveryViewSet, basename="delivery")

# Ids are 64-bit; a longer number in the URL is simply not found (as on the view sets).
INCIDENT = r"incidents/(?P<id>[0-9]{1,18})"

urlpatterns = [
    *router.urls,
    re_path(rf"^{INCIDENT}/evidence/$", IncidentEvidenceView.as_view(), name="incident-evidence"),
    re_path(rf"^{INCIDENT}/report\.md$", IncidentReportView.as_view(), name="incident-report"),
    path("stats/", StatsView.as_view(), name="stats"),
    path("integrations/alertmanager/", AlertmanagerView.as_view(), name="integration-alertmanager"),
    path("integrations/pagerduty/", PagerDutyView.as_view(), name="integration-pagerduty"),
]

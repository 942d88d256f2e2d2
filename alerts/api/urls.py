from django.urls import path
from rest_framework.routers import SimpleRouter

from alerts.api.channels import ChannelViewSet, DeliveryViewSet
from alerts.api.integrations import AlertmanagerView, PagerDutyView
from alerts.api.views import AlertViewSet, IncidentViewSet, RuleViewSet, SilenceViewSet, StatsView

router = SimpleRouter(trailing_slash=True)
router.register("alerts", AlertViewSet, basename="alert")
router.register("incidents", IncidentViewSet, basename="incident")
router.register("rules", RuleViewSet, basename="rule")
router.register("silences", SilenceViewSet, basename="silence")
router.register("channels", ChannelViewSet, basename="channel")
router.register("deliveries", DeliveryViewSet, basename="delivery")

urlpatterns = [
    *router.urls,
    path("stats/", StatsView.as_view(), name="stats"),
    path("integrations/alertmanager/", AlertmanagerView.as_view(), name="integration-alertmanager"),
    path("integrations/pagerduty/", PagerDutyView.as_view(), name="integration-pagerduty"),
]

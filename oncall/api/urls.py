from django.urls import path
from rest_framework.routers import SimpleRouter

from oncall.api.escalation import ContactMethodViewSet, NotificationRuleViewSet, PolicyViewSet
from oncall.api.schedules import FeedViewSet, LayerViewSet, OnCallView, OverrideViewSet, ScheduleViewSet

router = SimpleRouter(trailing_slash=True)
router.register("oncall/schedules", ScheduleViewSet, basename="oncall-schedule")
router.register("oncall/layers", LayerViewSet, basename="oncall-layer")
router.register("oncall/overrides", OverrideViewSet, basename="oncall-override")
router.register("oncall/feeds", FeedViewSet, basename="oncall-feed-api")
router.register("oncall/contact-methods", ContactMethodViewSet, basename="oncall-contact-method")
router.register("oncall/notification-rules", NotificationRuleViewSet, basename="oncall-notification-rule")
router.register("oncall/policies", PolicyViewSet, basename="oncall-policy")

urlpatterns = [
    path("oncall/", OnCallView.as_view(), name="oncall-now"),
    *router.urls,
]

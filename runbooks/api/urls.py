from django.urls import re_path
from rest_framework.routers import SimpleRouter

from runbooks.api.views import IncidentChecklistsView, RunbookViewSet, TickStepView

router = SimpleRouter(trailing_slash=True)
router.register("runbooks", RunbookViewSet, basename="runbook")

# Ids are 64-bit; a longer number in the URL is simply not found (as on the view sets).
INCIDENT = r"incidents/(?P<id>[0-9]{1,18})"
urlpatterns = [
    *router.urls,
    re_path(rf"^{INCIDENT}/checklists/$", IncidentChecklistsView.as_view(), name="incident-checklists"),
    re_path(
        rf"^{INCIDENT}/checklists/(?P<checklist>[0-9]{{1,18}})/steps/(?P<number>[0-9]{{1,9}})/tick/$",
        TickStepView.as_view(),
        name="incident-checklist-tick",
    ),
]

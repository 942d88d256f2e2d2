from django.urls import path

from runbooks import views

urlpatterns = [
    path("runbooks/", views.runbook_list, name="runbook-list"),
    path("runbooks/new/", views.runbook_create, name="runbook-create"),
    path("runbooks/<int:runbook_id>/", views.runbook_detail, name="runbook-detail"),
    path("runbooks/<int:runbook_id>/edit/", views.runbook_edit, name="runbook-edit"),
    path("runbooks/<int:runbook_id>/delete/", views.runbook_delete, name="runbook-delete"),
]

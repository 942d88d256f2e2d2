from django.urls import path

from alerts import views

urlpatterns = [
    path("alerts/", views.alert_centre, name="alert-centre"),
    path("incidents/", views.incident_list, name="incident-list"),
    path("incidents/<int:incident_id>/", views.incident_detail, name="incident-detail"),
]

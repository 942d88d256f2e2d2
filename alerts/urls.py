from django.urls import path

from alerts import views

urlpatterns = [
    path("alerts/", views.alert_centre, name="alert-centre"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert-detail"),
    path("incidents/", views.incident_list, name="incident-list"),
    path("incidents/<int:incident_id>/", views.incident_detail, name="incident-detail"),
    path("silences/", views.silence_list, name="silence-list"),
]

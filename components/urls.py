from django.urls import path

from components import views

urlpatterns = [path("status/", views.status_page, name="status-page")]

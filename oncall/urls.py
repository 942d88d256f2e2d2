from django.urls import re_path

from oncall import views

urlpatterns = [
    re_path(r"^oncall/feeds/(?P<key>[A-Za-z0-9_-]{1,100})\.ics$", views.feed, name="oncall-feed"),
]

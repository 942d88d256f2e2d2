from django.urls import path, re_path

from oncall import views

urlpatterns = [
    path("oncall/", views.oncall_page, name="oncall"),
    path("oncall/policies/", views.policy_list, name="oncall-policies"),
    path("oncall/policies/new/", views.policy_edit, name="oncall-policy-new"),
    path("oncall/policies/<int:policy_id>/", views.policy_edit, name="oncall-policy-edit"),
    path("oncall/schedules/new/", views.schedule_edit, name="oncall-schedule-new"),
    re_path(r"^oncall/feeds/(?P<key>[A-Za-z0-9_-]{1,100})\.ics$", views.feed, name="oncall-feed"),
]

from django.urls import path, re_path

from oncall import contact_pages, views

urlpatterns = [
    path("oncall/", views.oncall_page, name="oncall"),
    path("oncall/policies/", views.policy_list, name="oncall-policies"),
    path("oncall/policies/new/", views.policy_edit, name="oncall-policy-new"),
    path("oncall/policies/<int:policy_id>/", views.policy_edit, name="oncall-policy-edit"),
    path("oncall/contacts/", contact_pages.contact_page, name="oncall-contacts"),
    path("oncall/contacts/new/", contact_pages.add_contact, name="oncall-contact-new"),
    path("oncall/contacts/<int:method_id>/test/", contact_pages.test_contact, name="oncall-contact-test"),
    path("oncall/contacts/<int:method_id>/delete/", contact_pages.delete_contact, name="oncall-contact-delete"),
    path("oncall/contacts/rules/new/", contact_pages.add_rule, name="oncall-rule-new"),
    path("oncall/contacts/rules/<int:rule_id>/delete/", contact_pages.delete_rule, name="oncall-rule-delete"),
    path("oncall/schedules/new/", views.schedule_edit, name="oncall-schedule-new"),
    re_path(r"^oncall/feeds/(?P<key>[A-Za-z0-9_-]{1,100})\.ics$", views.feed, name="oncall-feed"),
]

from django.contrib import admin

from alerts.admin import ReadOnlyLogAdmin
from components.models import Component, ComponentEvent, SystemEvent


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "missed", "last_check", "expect_every", "grace"]
    list_filter = ["status", "missed"]
    search_fields = ["name"]
    readonly_fields = ["name", "status", "details", "last_check", "missed", "created_at", "updated_at"]


@admin.register(ComponentEvent)
class ComponentEventAdmin(ReadOnlyLogAdmin):
    list_display = ["at", "component", "status", "missed"]
    list_filter = ["missed"]
    search_fields = ["component"]


@admin.register(SystemEvent)
class SystemEventAdmin(ReadOnlyLogAdmin):
    list_display = ["at", "service", "event", "host", "pid", "version"]
    list_filter = ["service", "event"]

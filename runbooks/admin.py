from django.contrib import admin

from alerts.admin import AuditedConfigAdmin
from alerts.services import actor_name
from runbooks.models import Runbook


@admin.register(Runbook)
class RunbookAdmin(AuditedConfigAdmin):
    """Runbooks; saves and deletes leave configuration audit lines, as the REST API's do."""

    list_display = ("title", "category", "matchers", "updated_at", "updated_by")
    list_filter = ("category",)
    search_fields = ("title", "body")
    readonly_fields = ("updated_by", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        obj.updated_by = actor_name(request.user)
        super().save_model(request, obj, form, change)

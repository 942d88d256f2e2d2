"""Staff screens; every change goes through the same services as the API."""

from django.contrib import admin, messages

from alerts import incidents, services
from alerts.config_audit import delete_audited, save_audited
from alerts.models import (
    Alert,
    AlertEvent,
    AlertRule,
    AlertStatus,
    ConfigChange,
    Delivery,
    Incident,
    NotificationChannel,
    Silence,
)
from alerts.notifications.queue import queue_test


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "title",
        "severity",
        "status",
        "category",
        "source",
        "occurrences",
        "last_seen_at",
        "silenced",
    )
    list_filter = ("status", "severity", "category", "silenced")
    search_fields = ("title", "message", "source", "fingerprint")
    date_hierarchy = "last_seen_at"
    readonly_fields = [field.name for field in Alert._meta.fields]
    actions = ["acknowledge_selected", "resolve_selected"]

    def has_add_permission(self, request):
        return False  # alerts are raised through the API or by rules

    def delete_model(self, request, obj):
        services.delete_alert(obj.pk, services.actor_name(request.user))  # logged, and pushed to the screens

    def delete_queryset(self, request, queryset):
        for alert_id in queryset.values_list("pk", flat=True):
            try:
                services.delete_alert(alert_id, services.actor_name(request.user))
            except Alert.DoesNotExist:
                continue  # deleted meanwhile by someone else

    def _apply(self, request, queryset, change, verb):
        done, refused = 0, 0
        for alert in queryset:
            try:
                change(alert.pk, services.actor_name(request.user))
                done += 1
            except services.IllegalTransition:
                refused += 1
        self.message_user(request, f"{verb} {done} alert(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, f"{refused} alert(s) were not in a state that allows it.", messages.WARNING)

    @admin.action(description="Acknowledge selected firing alerts", permissions=["change"])
    def acknowledge_selected(self, request, queryset):
        self._apply(request, queryset.filter(status=AlertStatus.FIRING), services.acknowledge, "Acknowledged")

    @admin.action(description="Resolve selected alerts", permissions=["change"])
    def resolve_selected(self, request, queryset):
        resolve = lambda alert_id, actor: services.resolve(alert_id, actor, "Resolved from the admin.")  # noqa: E731
        self._apply(request, queryset.exclude(status=AlertStatus.RESOLVED), resolve, "Resolved")


class TimelineInline(admin.TabularInline):
    model = AlertEvent
    fk_name = "incident"
    fields = ("at", "kind", "actor", "text", "alert")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("at", "id")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "severity", "status", "commander", "opened_at", "resolved_at")
    list_filter = ("status", "severity")
    search_fields = ("title", "summary")
    inlines = [TimelineInline]
    readonly_fields = ("status", "opened_at", "resolved_at", "created_at", "updated_at")
    fields = ("title", "severity", "summary", "commander", *readonly_fields)

    def save_model(self, request, obj, form, change):
        actor = services.actor_name(request.user)
        if change:
            incidents.edit_incident(obj.pk, actor, {name: form.cleaned_data[name] for name in form.changed_data})
        else:
            created = incidents.open_incident(
                title=obj.title, severity=obj.severity, summary=obj.summary, commander=obj.commander, actor=actor
            )
            obj.pk = created.pk


class ReadOnlyLogAdmin(admin.ModelAdmin):
    """An append-only log: shown, never added to, edited or pruned from the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnlyLogAdmin):
    list_display = ("at", "kind", "actor", "alert_id", "incident_id", "text")
    list_filter = ("kind",)
    search_fields = ("actor", "text")
    date_hierarchy = "at"


class AuditedConfigAdmin(admin.ModelAdmin):
    """Saves and deletes through ``alerts.config_audit``, as the REST API does: each leaves an audit line."""

    def save_model(self, request, obj, form, change):
        def save():
            super(AuditedConfigAdmin, self).save_model(request, obj, form, change)
            return obj

        save_audited(services.actor_name(request.user), save, obj if change else None)

    def delete_model(self, request, obj):
        delete_audited(services.actor_name(request.user), obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:  # one line each, as if deleted one by one
            delete_audited(services.actor_name(request.user), obj)


@admin.register(ConfigChange)
class ConfigChangeAdmin(ReadOnlyLogAdmin):
    """The configuration audit: read-only, for finding out who changed what the pager depends on."""

    list_display = ("at", "actor", "action", "object_type", "object_id", "object_repr")
    list_filter = ("action", "object_type")
    search_fields = ("actor", "object_repr", "object_id")
    date_hierarchy = "at"
    readonly_fields = [field.name for field in ConfigChange._meta.fields]


@admin.register(AlertRule)
class AlertRuleAdmin(AuditedConfigAdmin):
    list_display = ("name", "metric", "operator", "threshold", "for_seconds", "severity", "enabled")
    list_filter = ("enabled", "severity", "category")
    search_fields = ("name", "metric", "title")


@admin.register(Silence)
class SilenceAdmin(AuditedConfigAdmin):
    list_display = ("id", "matchers", "starts_at", "ends_at", "repeat_days", "repeat_start", "timezone", "comment")
    search_fields = ("comment", "created_by")
    readonly_fields = ("created_by", "created_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = services.actor_name(request.user)
        super().save_model(request, obj, form, change)


@admin.register(NotificationChannel)
class NotificationChannelAdmin(AuditedConfigAdmin):
    """Channels; a webhook's signing secret is made on creation and shown once, in the message after saving."""

    list_display = ("name", "kind", "url", "severities", "categories", "send_resolved", "repeat_interval", "enabled")
    list_filter = ("kind", "enabled")
    exclude = ("secret",)
    actions = ["send_test_notification"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change and obj.secret:
            self.message_user(
                request,
                f"Signing secret of {obj.name} (shown only now; receivers verify webhook-signature with it): "
                f"{obj.secret}",
                messages.WARNING,
            )

    @admin.action(description="Send test notification", permissions=["change"])
    def send_test_notification(self, request, queryset):
        for channel in queryset:
            queue_test(channel, services.actor_name(request.user))
        self.message_user(
            request, f"Test queued for {queryset.count()} channel(s); see Deliveries for how it went.", messages.SUCCESS
        )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only, for finding out why someone was not paged."""

    list_display = (
        "created_at",
        "channel",
        "alert_id",
        "event",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "sent_at",
    )
    list_filter = ("status", "channel", "event")
    readonly_fields = [field.name for field in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

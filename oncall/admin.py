"""Staff screens for schedules, contact methods and escalation policies."""

from django.contrib import admin, messages

from alerts.services import actor_name
from oncall import contacts
from oncall.models import (
    CalendarFeed,
    ContactMethod,
    Escalation,
    EscalationPolicy,
    EscalationStep,
    Layer,
    LayerMember,
    NotificationRule,
    Override,
    Schedule,
)


class LayerInline(admin.StackedInline):
    model = Layer
    extra = 0
    fields = ("name", "level", "rotation", "shift_days", "starts_on", "handoff_time")
    show_change_link = True  # its members are edited on the layer's own screen


class OverrideInline(admin.TabularInline):
    model = Override
    extra = 0
    fields = ("user", "starts_at", "ends_at")


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone")
    search_fields = ("name",)
    inlines = [LayerInline, OverrideInline]


class MemberInline(admin.TabularInline):
    model = LayerMember
    extra = 1
    fields = ("position", "user")


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = ("name", "schedule", "level", "rotation", "starts_on", "handoff_time")
    list_filter = ("schedule", "rotation")
    inlines = [MemberInline]


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin):
    """The method's target (kind, URL, addresses) is its channel's: edit it over the API or the channel screen."""

    list_display = ("user", "label", "channel")
    list_filter = ("user",)
    readonly_fields = ("channel",)
    actions = ["send_test"]

    def has_add_permission(self, request):
        return False  # made with its channel by POST /api/v1/oncall/contact-methods/

    @admin.action(description="Send me a test", permissions=["change"])
    def send_test(self, request, queryset):
        for method in queryset.select_related("channel"):
            contacts.send_test(method, actor_name(request.user))
        self.message_user(request, f"Test queued for {queryset.count()} contact method(s).", messages.SUCCESS)


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    list_display = ("user", "severity", "contact_method", "delay_minutes")
    list_filter = ("severity", "user")


class StepInline(admin.TabularInline):
    model = EscalationStep
    extra = 1
    fields = ("position", "target", "schedule", "users", "channel", "wait_minutes")


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "position", "matchers", "severities", "is_default", "repeat", "enabled")
    list_editable = ("position", "enabled")
    inlines = [StepInline]


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    """Where each alert's escalation stands: read-only, for finding out why someone was (not) paged."""

    list_display = ("alert", "policy", "state", "step", "round", "next_at")
    list_filter = ("state", "policy")
    readonly_fields = [field.name for field in Escalation._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Feeds are made over the API (their URL is shown once); here they are listed and revoked."""

    list_display = ("prefix", "schedule", "user", "created_by", "created_at")
    readonly_fields = ("prefix", "schedule", "user", "created_by", "created_at")
    exclude = ("key_hash",)

    def has_add_permission(self, request):
        return False

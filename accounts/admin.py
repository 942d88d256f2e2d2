from django.contrib import admin, messages
from django.template.response import TemplateResponse

from accounts import tokens
from accounts.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__username")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "name", "expires_at")
    actions = ["revoke_tokens"]

    def has_change_permission(self, request, obj=None):
        # A token is made, used and revoked; editing one would change what a key grants behind its holder's back.
        return False

    def save_model(self, request, obj, form, change):
        # The key exists only in this request: shown once on the page below, then gone.
        request.new_api_key = tokens.give_key(obj)
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "title": "API token created",
            "opts": self.model._meta,
            "token": obj,
            "key": request.new_api_key,
        }
        return TemplateResponse(request, "admin/accounts/apitoken/created.html", context)

    @admin.action(description="Revoke selected tokens", permissions=["delete"])
    def revoke_tokens(self, request, queryset):
        revoked = sum(tokens.revoke(token) for token in queryset)
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)

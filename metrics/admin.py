"""Staff screens for metrics: series are looked at and deleted here, never edited.

Points arrive only through ``ingest_points`` (the API, the collector); a series
deleted here takes its samples and rollups with it.
"""

from django.contrib import admin

from metrics.models import Series


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ("name", "tags_key", "last_value", "last_at", "created_at")
    list_filter = ("name",)
    search_fields = ("name", "tags_key")
    date_hierarchy = "last_at"
    readonly_fields = ("name", "tags", "tags_key", "last_value", "last_at", "created_at")
    show_full_result_count = False  # COUNT(*) on every page of a large table is wasted work

    def has_add_permission(self, request):
        return False  # series come into being when points for them are ingested

    def has_change_permission(self, request, obj=None):
        return False

"""Query-string filters of the alert and incident lists."""

from datetime import UTC

import django_filters

from alerts.models import Alert, AlertStatus, Incident, IncidentStatus, Severity


MAX_ID = 2**63 - 1  # ids are 64-bit; a larger number is an error, not a database overflow


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO-8601 with any offset Python accepts, compared in UTC (Postgres refuses offsets over 15:59)."""

    def filter(self, qs, value):
        return super().filter(qs, value.astimezone(UTC) if value else value)


class AlertFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AlertStatus.choices, help_text="Repeat to match any of several.")
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, help_text="Repeat to match any of several.")
    category = django_filters.CharFilter()
    source = django_filters.CharFilter()
    incident = django_filters.NumberFilter(field_name="incident_id", min_value=1, max_value=MAX_ID, decimal_places=0)
    silenced = django_filters.BooleanFilter()
    since = UtcDateTimeFilter(
        field_name="last_seen_at", lookup_expr="gte", help_text="Alerts seen at or after this ISO-8601 time."
    )

    class Meta:
        model = Alert
        fields = ["status", "severity", "category", "source", "incident", "silenced", "since"]


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=IncidentStatus.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    since = UtcDateTimeFilter(field_name="opened_at", lookup_expr="gte")

    class Meta:
        model = Incident
        fields = ["status", "severity", "since"]

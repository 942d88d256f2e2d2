"""Query-string filters of the alert and incident lists."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from alerts.models import Alert, AlertStatus, Incident, IncidentStatus, Severity

MAX_ID = 2**63 - 1  # ids are 64-bit; a larger number is an error, not a database overflow


class UtcIsoDateTimeField(IsoDateTimeField):
    default_error_messages = {"out_of_range": "Out of range once converted to UTC."}

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return value
        try:
            return value.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is in year 0 in UTC
            raise ValidationError(self.error_messages["out_of_range"], code="out_of_range") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO-8601 with any offset Python accepts, compared in UTC (Postgres refuses offsets over 15:59)."""

    field_class = UtcIsoDateTimeField


def any_of(choices, **kwargs):
    """A filter that matches any of several repeated values.

    No DISTINCT (django-filter's default for these): the lists join nothing, and
    a DISTINCT over every column keeps Postgres from counting and paging from
    the (status, severity, last_seen_at) index.
    """
    return django_filters.MultipleChoiceFilter(choices=choices, distinct=False, **kwargs)


class AlertFilter(django_filters.FilterSet):
    status = any_of(AlertStatus.choices, help_text="Repeat to match any of several.")
    severity = any_of(Severity.choices, help_text="Repeat to match any of several.")
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
    status = any_of(IncidentStatus.choices)
    severity = any_of(Severity.choices)
    since = UtcDateTimeFilter(field_name="opened_at", lookup_expr="gte")

    class Meta:
        model = Incident
        fields = ["status", "severity", "since"]

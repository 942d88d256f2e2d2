"""The JSON shapes of alerts, incidents, rules and silences (contract, section 2)."""

import math
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.evidence import MAX_WINDOW
from alerts.evidence import window_problems as evidence_window_problems
from alerts.models import (
    FINGERPRINT_PATTERN,
    MAX_LABEL_KEY,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    Alert,
    AlertEvent,
    AlertRule,
    AlertStatus,
    Incident,
    IncidentStatus,
    Severity,
    Silence,
)
from alerts.payloads import alert_data, incident_data
from alerts.windows import window_problems
from opsconsole.strict import StrictModelSerializer, StrictSerializer
from runbooks.matching import runbook_links

MAX_ID = 2**63 - 1


class FiniteFloatField(serializers.FloatField):
    default_error_messages = {"not_finite": "Must be a finite number."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("not_finite")
        return value


class StrictCharField(serializers.CharField):
    """A string that must arrive as a JSON string: 5 is not "5" in a label."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": MAX_LABEL_VALUE},
        "maxProperties": MAX_LABELS,
        "propertyNames": {"minLength": 1, "maxLength": MAX_LABEL_KEY},
    }
)
class LabelsField(serializers.DictField):
    """An object of string keys to string values, bounded in count and length."""

    def __init__(self, **kwargs):
        super().__init__(child=StrictCharField(max_length=MAX_LABEL_VALUE, allow_blank=True), **kwargs)

    def to_internal_value(self, data):
        labels = super().to_internal_value(data)
        if len(labels) > MAX_LABELS:
            raise serializers.ValidationError(f"At most {MAX_LABELS} labels.")
        for key in labels:
            if not key or len(key) > MAX_LABEL_KEY:
                raise serializers.ValidationError(f"Label names must be 1 to {MAX_LABEL_KEY} characters.")
        return labels


class RunbookLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="Null for the alert's own `runbook_url` label.")
    title = serializers.CharField()
    url = serializers.CharField(help_text="The runbook's page (a path), or the alert's `runbook_url`.")


class AlertSerializer(serializers.ModelSerializer):
    # The fields describe the Alert shape to the schema; alert_data renders it.
    # (A comment, not a docstring: drf-spectacular would publish a docstring.)
    labels = LabelsField()
    runbooks = serializers.SerializerMethodField(
        help_text="The runbooks whose matchers the labels contain, then the `runbook_url` label as a link."
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "fingerprint",
            "source",
            "category",
            "severity",
            "title",
            "message",
            "value",
            "threshold",
            "labels",
            "status",
            "silenced",
            "flapping",
            "starts_at",
            "last_seen_at",
            "occurrences",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "resolution",
            "incident",
            "rule",
            "created_at",
            "updated_at",
            "runbooks",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(RunbookLinkSerializer(many=True))
    def get_runbooks(self, alert):
        return runbook_links(alert.labels)

    def to_representation(self, alert):
        return alert_data(alert)


class AlertCreateSerializer(StrictSerializer):
    fingerprint = serializers.RegexField(
        FINGERPRINT_PATTERN,
        required=False,
        help_text="Identity for deduplication; derived from source, category and labels when absent.",
    )
    source = serializers.CharField(max_length=100)  # type: ignore[assignment]  # the alert's, not Field.source
    category = serializers.CharField(max_length=50, default="custom", help_text="e.g. cpu, memory, disk, custom")
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.WARNING)
    title = serializers.CharField(max_length=200)
    message = serializers.CharField(allow_blank=True, default="", max_length=20_000)
    value = FiniteFloatField(required=False, allow_null=True, default=None)
    threshold = FiniteFloatField(required=False, allow_null=True, default=None)
    labels = LabelsField(required=False, default=dict)
    starts_at = serializers.DateTimeField(required=False, help_text="When the problem began; now when absent.")


class AlertUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False)
    message = serializers.CharField(allow_blank=True, max_length=20_000, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    category = serializers.CharField(max_length=50, required=False)
    labels = LabelsField(required=False)
    value = FiniteFloatField(required=False, allow_null=True)
    threshold = FiniteFloatField(required=False, allow_null=True)
    status = serializers.ChoiceField(
        choices=AlertStatus.choices,
        required=False,
        help_text="Moves through acknowledge / resolve rules (409 if illegal).",
    )
    resolution = serializers.CharField(allow_blank=True, max_length=10_000, required=False)


MAX_COMMENT = 2000


class AcknowledgeSerializer(StrictSerializer):
    comment = serializers.CharField(
        allow_blank=True,
        default="",
        max_length=MAX_COMMENT,
        help_text="Why, or what is being done; shown on the alert's and its incident's timelines.",
        error_messages={"max_length": f"A comment is at most {MAX_COMMENT} characters."},
    )


class ResolveSerializer(StrictSerializer):
    resolution = serializers.CharField(allow_blank=True, default="", max_length=10_000)


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    status = serializers.CharField(help_text="The current status, which did not allow the move.")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class IncidentSerializer(serializers.ModelSerializer):
    # The fields describe the Incident shape to the schema; incident_data renders it.
    commander: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    alerts: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "severity",
            "status",
            "summary",
            "commander",
            "alerts",
            "opened_at",
            "resolved_at",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = fields

    def to_representation(self, incident):
        return incident_data(incident)


def _active_users():
    return get_user_model().objects.filter(is_active=True)


class IncidentCreateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.WARNING)
    summary = serializers.CharField(allow_blank=True, default="", max_length=20_000)
    commander = serializers.SlugRelatedField(
        slug_field="username", queryset=_active_users(), required=False, allow_null=True, default=None
    )
    alerts = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), max_length=1000, default=list
    )


class IncidentUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    summary = serializers.CharField(allow_blank=True, max_length=20_000, required=False)
    commander = serializers.SlugRelatedField(
        slug_field="username", queryset=_active_users(), required=False, allow_null=True
    )
    status = serializers.ChoiceField(choices=IncidentStatus.choices, required=False)


class AttachAlertsSerializer(StrictSerializer):
    alerts = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=1000
    )


class NoteSerializer(StrictSerializer):
    text = serializers.CharField(max_length=10_000)


class TimelineEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertEvent
        fields = ["id", "kind", "at", "actor", "text", "data", "alert"]
        read_only_fields = fields


class AlertRuleSerializer(StrictModelSerializer):
    tags = LabelsField(required=False)
    threshold = FiniteFloatField()

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "metric",
            "tags",
            "operator",
            "threshold",
            "for_seconds",
            "severity",
            "category",
            "title",
            "enabled",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class SilenceSerializer(StrictModelSerializer):
    matchers = LabelsField()
    repeat_days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), required=False, max_length=7
    )

    class Meta:
        model = Silence
        fields = [
            "id",
            "matchers",
            "starts_at",
            "ends_at",
            "comment",
            "repeat_days",
            "repeat_start",
            "repeat_duration",
            "timezone",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "created_by", "created_at"]

    def validate_matchers(self, matchers):
        if not matchers:
            raise serializers.ValidationError("A silence needs at least one matcher; it would silence everything.")
        return matchers

    def validate(self, attrs):
        # An absent start is now (the model's default): an end in the past
        # would make a silence that ends before it starts.
        starts_at = attrs.get("starts_at") or timezone.now()
        if attrs["ends_at"] <= starts_at:
            raise serializers.ValidationError({"ends_at": "Must be after starts_at."})
        # One rule for a recurrence, the model's (the admin uses it too).
        problems = window_problems(
            attrs.get("repeat_days", []),
            attrs.get("repeat_start"),
            attrs.get("repeat_duration"),
            attrs.get("timezone", "UTC"),
        )
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class SilencePreviewSerializer(StrictSerializer):
    matchers = LabelsField(help_text="The labels a silence would match, as in a silence.")

    def validate_matchers(self, matchers):
        if not matchers:
            raise serializers.ValidationError("Give at least one matcher; none would catch every alert.")
        return matchers


class SilencePreviewAnswerSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Unresolved alerts the matchers catch now.")
    alerts = AlertSerializer(many=True, help_text="The newest of them, at most 100.")


class CountsByStatusSerializer(serializers.Serializer):
    firing = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    resolved = serializers.IntegerField()


class CountsBySeveritySerializer(serializers.Serializer):
    info = serializers.IntegerField()
    warning = serializers.IntegerField()
    critical = serializers.IntegerField()


class AlertSummarySerializer(serializers.Serializer):
    by_status = CountsByStatusSerializer()
    by_severity = CountsBySeveritySerializer(help_text="Unresolved alerts only.")


class StatsSerializer(serializers.Serializer):
    alerts = AlertSummarySerializer()
    open_incidents = serializers.IntegerField()
    series = serializers.IntegerField(allow_null=True, help_text="Metric series stored.")
    points_ingested = serializers.IntegerField(allow_null=True, help_text="Metric points accepted since install.")
    connected_sockets = serializers.IntegerField(help_text="WebSockets open on every web process.")


class EvidenceCaptureSerializer(StrictSerializer):
    """The window to capture: the last ``minutes``, or ``start`` to ``end``."""

    minutes = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_WINDOW.days * 24 * 60, help_text="The last this many minutes."
    )
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        if "minutes" in attrs:
            if "start" in attrs or "end" in attrs:
                raise serializers.ValidationError({"minutes": ["Give minutes, or start and end, not both."]})
            end = timezone.now()
            return {"start": end - timedelta(minutes=attrs["minutes"]), "end": end}
        problems = evidence_window_problems(attrs.get("start"), attrs.get("end"))
        if problems:
            raise serializers.ValidationError({field: [problem] for field, problem in problems.items()})
        return {"start": attrs["start"], "end": attrs["end"]}


class SeriesStatsSerializer(serializers.Serializer):
    min = serializers.FloatField(allow_null=True)
    avg = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    last = serializers.FloatField(allow_null=True)


class FrozenSeriesSerializer(serializers.Serializer):
    name = serializers.CharField()
    tags = serializers.DictField(child=serializers.CharField())
    unit = serializers.CharField(allow_blank=True)
    step = serializers.IntegerField(help_text="Seconds each point averages.")
    stats = SeriesStatsSerializer(help_text="Of every point in the window, not of the averages.")
    points = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        help_text="[epoch seconds, value], oldest first.",
    )


class EvidenceSerializer(serializers.Serializer):
    # Describes the shape to the schema; alerts.evidence.evidence_data renders it.
    id = serializers.IntegerField()
    incident = serializers.IntegerField()
    captured_by = serializers.CharField()
    captured_at = serializers.DateTimeField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    series = FrozenSeriesSerializer(many=True)

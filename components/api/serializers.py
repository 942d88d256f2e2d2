"""The component status API's bodies and answers."""

import json
import re

from rest_framework import serializers

from components.models import NAME_PATTERN, STATUS_PATTERN, Component
from components.services import due_at
from opsconsole.strict import StrictSerializer

MAX_EXPECT_EVERY = 7 * 24 * 3600
MAX_DETAILS_BYTES = 16 * 1024


class StatusReport(StrictSerializer):
    status = serializers.RegexField(
        STATUS_PATTERN,
        max_length=32,
        error_messages={"invalid": "Lower-case letters, digits, '_' and '-', starting with a letter (e.g. running)."},
    )
    details = serializers.DictField(required=False, default=dict)
    expect_every = serializers.IntegerField(
        min_value=1, max_value=MAX_EXPECT_EVERY, help_text="Seconds until the next report is due."
    )
    grace = serializers.IntegerField(
        min_value=0,
        max_value=MAX_EXPECT_EVERY,
        required=False,
        help_text="Seconds of lateness tolerated; default OPSCONSOLE_COMPONENT_GRACE.",
    )

    def validate_details(self, value):
        if len(json.dumps(value)) > MAX_DETAILS_BYTES:
            raise serializers.ValidationError(f"At most {MAX_DETAILS_BYTES} bytes of JSON.")
        return value


class ComponentSerializer(serializers.ModelSerializer):
    component = serializers.CharField(source="name", read_only=True)
    due_at = serializers.SerializerMethodField()

    class Meta:
        model = Component
        fields = ["component", "status", "details", "last_check", "missed", "expect_every", "grace", "due_at"]
        read_only_fields = fields

    def get_due_at(self, obj) -> str:
        return due_at(obj).isoformat()


def valid_name(name: str) -> bool:
    return re.fullmatch(NAME_PATTERN, name) is not None

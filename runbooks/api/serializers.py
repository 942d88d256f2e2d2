"""The JSON shapes of runbooks and incident checklists (contract, section 8)."""

from rest_framework import serializers

from alerts.api.serializers import MAX_ID, LabelsField
from opsconsole.strict import StrictModelSerializer, StrictSerializer
from runbooks.markdown import render_markdown
from runbooks.matching import runbook_url
from runbooks.models import Runbook

MAX_BODY = 100_000


class RunbookSerializer(StrictModelSerializer):
    body = serializers.CharField(
        allow_blank=True,
        default="",
        max_length=MAX_BODY,
        help_text="Markdown; top-level numbered steps run as a checklist.",
    )
    matchers = LabelsField(
        required=False,
        help_text="Labels; the runbook applies to every alert whose labels contain all of them. Empty: to none.",
    )
    body_html = serializers.SerializerMethodField(help_text="The body rendered and sanitized, as the page shows it.")
    url = serializers.SerializerMethodField(help_text="The runbook's page.")

    class Meta:
        model = Runbook
        fields = ["id", "title", "body", "matchers", "category", "updated_at", "updated_by", "body_html", "url"]
        read_only_fields = ["id", "updated_at", "updated_by"]

    def get_body_html(self, runbook) -> str:
        return render_markdown(runbook.body)

    def get_url(self, runbook) -> str:
        return runbook_url(runbook.pk)


class ChecklistStepSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    text = serializers.CharField()
    ticked_at = serializers.DateTimeField(allow_null=True)
    ticked_by = serializers.CharField(help_text="Empty until ticked.")


class ChecklistSerializer(serializers.Serializer):
    # Describes checklist_data's shape to the schema; checklist_data renders it.
    id = serializers.IntegerField()
    runbook = serializers.IntegerField(allow_null=True, help_text="Null once the runbook is deleted.")
    title = serializers.CharField()
    started_by = serializers.CharField()
    started_at = serializers.DateTimeField()
    steps = ChecklistStepSerializer(many=True)


class RunRunbookSerializer(StrictSerializer):
    runbook = serializers.IntegerField(min_value=1, max_value=MAX_ID)

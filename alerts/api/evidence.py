"""REST endpoints for an incident's evidence and its postmortem export. Thin: parse, call, render."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import evidence
from alerts.api.serializers import ErrorSerializer, EvidenceCaptureSerializer, EvidenceSerializer
from alerts.api.views import NOT_FOUND, ServiceErrorsMixin, actor
from alerts.models import Incident
from alerts.report import incident_report


def _existing(incident_id: int) -> int:
    if not Incident.objects.filter(pk=incident_id).exists():
        raise Incident.DoesNotExist
    return incident_id


class IncidentEvidenceView(ServiceErrorsMixin, APIView):
    permission_model = Incident
    action_permissions = {"post": "alerts.change_incident"}

    def handle_exception(self, exc):
        if isinstance(exc, evidence.NothingToCapture | evidence.TooManyCaptures):
            exc = ValidationError({"detail": str(exc)})
        return super().handle_exception(exc)

    @extend_schema(
        summary="The incident's captured evidence, oldest first",
        responses={200: EvidenceSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, **path):
        return Response(evidence.incident_evidence(_existing(int(path["id"]))))

    @extend_schema(
        summary="Capture evidence: freeze the incident's alerts' series over a window into its timeline",
        request=EvidenceCaptureSerializer,
        responses={
            201: OpenApiResponse(EvidenceSerializer, description="The evidence, captured."),
            400: OpenApiResponse(ErrorSerializer, description="A bad window, or no series to capture."),
            404: NOT_FOUND,
        },
    )
    def post(self, request, **path):
        incident_id = _existing(int(path["id"]))
        body = EvidenceCaptureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        window = body.validated_data
        captured = evidence.capture_evidence(incident_id, window["start"], window["end"], actor(request))
        return Response(evidence.evidence_data(captured), status=status.HTTP_201_CREATED)


class IncidentReportView(ServiceErrorsMixin, APIView):
    """The postmortem as a Markdown file; errors stay JSON, like the rest of the API."""

    permission_model = Incident
    renderer_classes = [JSONRenderer]  # for the errors; the report itself is Markdown

    def perform_content_negotiation(self, request, force=False):
        # A browser or curl may ask for text/markdown only; that is answered below, not by a renderer.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="The postmortem: summary, timeline, alerts and evidence, as Markdown",
        responses={(200, "text/markdown"): OpenApiTypes.STR, 404: NOT_FOUND},
    )
    def get(self, request, **path):
        incident_id = int(path["id"])
        response = HttpResponse(incident_report(incident_id), content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f"attachment; filename=incident-{incident_id}.md"
        return response

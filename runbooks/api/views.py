"""REST endpoints for runbooks and the checklists incidents run from them. Thin: parse, call, render."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.api.serializers import ErrorSerializer
from alerts.api.views import CONFLICT, NOT_FOUND, ServiceErrorsMixin, actor
from alerts.config_audit import delete_audited, save_audited
from alerts.models import Incident
from opsconsole.api import WITHOUT_PUT
from opsconsole.strict import NoFields
from runbooks import checklists
from runbooks.api.serializers import (
    ChecklistSerializer,
    ChecklistStepSerializer,
    RunbookSerializer,
    RunRunbookSerializer,
)
from runbooks.models import ChecklistStep, Runbook


@extend_schema_view(
    list=extend_schema(summary="List runbooks", description="By title; `search` looks in titles and bodies."),
    retrieve=extend_schema(summary="Get a runbook", responses={200: RunbookSerializer, 404: NOT_FOUND}),
    create=extend_schema(summary="Write a runbook"),
    partial_update=extend_schema(summary="Edit a runbook", responses={200: RunbookSerializer, 404: NOT_FOUND}),
    destroy=extend_schema(summary="Delete a runbook", responses={204: None, 404: NOT_FOUND}),
)
class RunbookViewSet(viewsets.ModelViewSet):
    """Runbooks; each create, change and delete leaves a configuration audit line."""

    lookup_value_regex = ServiceErrorsMixin.lookup_value_regex
    queryset = Runbook.objects.all()
    serializer_class = RunbookSerializer
    filterset_fields = ["category"]
    search_fields = ["title", "body"]
    ordering_fields = ["id", "title", "category", "updated_at"]
    ordering = ["title", "id"]
    http_method_names = WITHOUT_PUT

    def perform_create(self, serializer):
        name = actor(self.request)
        save_audited(name, lambda: serializer.save(updated_by=name))

    def perform_update(self, serializer):
        name = actor(self.request)
        save_audited(name, lambda: serializer.save(updated_by=name), serializer.instance)

    def perform_destroy(self, instance):
        delete_audited(actor(self.request), instance)


class ChecklistErrorsMixin(ServiceErrorsMixin):
    def handle_exception(self, exc):
        if isinstance(exc, Runbook.DoesNotExist):
            exc = ValidationError({"runbook": ["No runbook with this id."]})
        elif isinstance(exc, checklists.NoSteps):
            exc = ValidationError({"runbook": [str(exc)]})
        elif isinstance(exc, ChecklistStep.DoesNotExist):
            exc = NotFound("No such step on this incident's checklist.")
        return super().handle_exception(exc)


class IncidentChecklistsView(ChecklistErrorsMixin, APIView):
    permission_model = Incident
    action_permissions = {"post": "alerts.change_incident"}

    @extend_schema(
        summary="The incident's checklists, oldest first",
        responses={200: ChecklistSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, **path):
        incident_id = int(path["id"])
        if not Incident.objects.filter(pk=incident_id).exists():
            raise Incident.DoesNotExist
        return Response(checklists.incident_checklists(incident_id))

    @extend_schema(
        summary="Run a runbook on the incident: its numbered steps become a checklist",
        request=RunRunbookSerializer,
        responses={
            201: OpenApiResponse(ChecklistSerializer, description="The checklist, started."),
            200: OpenApiResponse(ChecklistSerializer, description="The runbook was already running: its checklist."),
            400: OpenApiResponse(ErrorSerializer, description="No such runbook, or it has no numbered steps."),
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    def post(self, request, **path):
        body = RunRunbookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        runbook_id = body.validated_data["runbook"]
        checklist, created = checklists.run_runbook(int(path["id"]), runbook_id, actor(request))
        return Response(
            checklists.checklist_data(checklist), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class TickStepView(ChecklistErrorsMixin, APIView):
    permission_model = Incident
    action_permissions = {"post": "alerts.change_incident"}

    @extend_schema(
        summary="Tick a checklist step: done, by you, now (on the incident's timeline)",
        request=NoFields,
        responses={200: ChecklistStepSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request, **path):
        NoFields(data=request.data).is_valid(raise_exception=True)
        step = checklists.tick_step(int(path["id"]), int(path["checklist"]), int(path["number"]), actor(request))
        return Response(checklists.step_data(step))

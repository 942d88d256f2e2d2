"""REST endpoints for alerts, incidents, rules, silences and the overview.

Thin by design: validate with a serializer, call a service, render.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import incidents, services, silences
from alerts.api import serializers as s
from alerts.config_audit import delete_audited, save_audited
from alerts.filters import AlertFilter, IncidentFilter
from alerts.models import Alert, AlertRule, Incident, IncidentStatus, Silence
from opsconsole.api import WITHOUT_PUT
from opsconsole.strict import NoFields
from realtime.replay import stream_position
from realtime.topics import ALERTS

NOT_FOUND = OpenApiResponse(s.ErrorSerializer, description="No such object.")
CONFLICT = OpenApiResponse(s.ConflictSerializer, description="The life cycle does not allow this move.")


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "illegal_transition"


def conflict_from(error):
    exception = Conflict()
    exception.detail = {"detail": str(error), "status": error.current_status}  # type: ignore[dict-item]
    return exception


def not_found(model):
    # Worded as get_object words it, whichever read found the object missing.
    return NotFound(f"No {model._meta.object_name} matches the given query.")


def actor(request):
    return services.actor_name(request.user)


class ServiceErrorsMixin:
    """Turns the services' domain errors into their HTTP answers, in one place."""

    # Ids are 64-bit; a longer number in the URL is simply not found.
    lookup_value_regex = r"[0-9]{1,18}"

    def handle_exception(self, exc):
        if isinstance(exc, services.IllegalTransition):
            exc = conflict_from(exc)
        elif isinstance(exc, Alert.DoesNotExist):
            exc = not_found(Alert)
        elif isinstance(exc, Incident.DoesNotExist):
            exc = not_found(Incident)
        elif isinstance(exc, incidents.UnknownAlerts):
            exc = ValidationError({"alerts": [str(exc)]})
        return super().handle_exception(exc)  # type: ignore[misc]  # a mixin: the view class has it


class StreamPositionMixin:
    """``X-Stream-Seq`` on a list: the ``/ws/alerts`` seq its rows reflect, read before them.

    A client that loads the list, then opens the socket and resumes from this
    seq, misses no change between the two (docs/protocol.md).
    """

    def list(self, request, *args, **kwargs):
        seq = stream_position(ALERTS)
        response = super().list(request, *args, **kwargs)  # type: ignore[misc]  # a mixin: the view class has it
        if seq is not None:
            response["X-Stream-Seq"] = str(seq)
        return response


@extend_schema_view(
    list=extend_schema(summary="List alerts", description="Newest activity first unless `ordering` says otherwise."),
    retrieve=extend_schema(summary="Get an alert", responses={200: s.AlertSerializer, 404: NOT_FOUND}),
    destroy=extend_schema(
        summary="Delete an alert (its history stays in the event log)", responses={204: None, 404: NOT_FOUND}
    ),
)
class AlertViewSet(
    ServiceErrorsMixin, StreamPositionMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = Alert.objects.all()
    serializer_class = s.AlertSerializer
    filterset_class = AlertFilter
    search_fields = ["title", "message", "source", "fingerprint"]
    ordering_fields = ["id", "starts_at", "last_seen_at", "severity", "status", "occurrences"]
    ordering = ["-last_seen_at", "-id"]
    action_permissions = {
        "acknowledge": "alerts.change_alert",
        "resolve": "alerts.change_alert",
        "timeline": "alerts.view_alert",
    }

    @extend_schema(
        summary="Raise an alert (or update its open twin)",
        request=s.AlertCreateSerializer,
        responses={
            201: OpenApiResponse(s.AlertSerializer, description="A new alert."),
            200: OpenApiResponse(
                s.AlertSerializer, description="An unresolved alert with the same fingerprint, updated."
            ),
        },
    )
    def create(self, request):
        body = s.AlertCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert, created = services.raise_alert(actor=actor(request), **body.validated_data)
        return Response(
            s.AlertSerializer(alert).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        summary="Edit an alert",
        request=s.AlertUpdateSerializer,
        responses={200: s.AlertSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    def partial_update(self, request, pk=None):
        alert = self.get_object()
        body = s.AlertUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = services.edit_alert(alert.pk, actor(request), body.validated_data)
        return Response(s.AlertSerializer(alert).data)

    def destroy(self, request, pk=None):
        services.delete_alert(self.get_object().pk, actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Acknowledge a firing alert",
        request=s.AcknowledgeSerializer,
        responses={200: s.AlertSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        body = s.AcknowledgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The service's locked read is the lookup: a missing alert raises
        # DoesNotExist, a 404 here (ServiceErrorsMixin), without a read before it.
        alert = services.acknowledge(pk, actor(request), body.validated_data["comment"])
        return Response(s.AlertSerializer(alert).data)

    @extend_schema(
        summary="The alert's timeline, oldest first",
        responses={200: s.TimelineEntrySerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def timeline(self, request, pk=None):
        return Response(s.TimelineEntrySerializer(services.alert_timeline(pk), many=True).data)

    @extend_schema(
        summary="Resolve an alert",
        request=s.ResolveSerializer,
        responses={200: s.AlertSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        body = s.ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = services.resolve(pk, actor(request), body.validated_data["resolution"])
        return Response(s.AlertSerializer(alert).data)


@extend_schema_view(
    list=extend_schema(summary="List incidents"),
    retrieve=extend_schema(summary="Get an incident", responses={200: s.IncidentSerializer, 404: NOT_FOUND}),
)
class IncidentViewSet(
    ServiceErrorsMixin, StreamPositionMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = Incident.objects.select_related("commander").prefetch_related(
        Prefetch("alerts", Alert.objects.only("id", "incident_id"))
    )
    serializer_class = s.IncidentSerializer
    filterset_class = IncidentFilter
    search_fields = ["title", "summary"]
    ordering_fields = ["id", "opened_at", "severity", "status"]
    ordering = ["-opened_at", "-id"]
    action_permissions = {
        "attach_alerts": "alerts.change_incident",
        "notes": "alerts.change_incident",
        "timeline": "alerts.view_incident",
    }

    @extend_schema(
        summary="Open an incident", request=s.IncidentCreateSerializer, responses={201: s.IncidentSerializer}
    )
    def create(self, request):
        body = s.IncidentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        incident = incidents.open_incident(
            title=data["title"],
            severity=data["severity"],
            summary=data["summary"],
            commander=data["commander"],
            alert_ids=data["alerts"],
            actor=actor(request),
        )
        return Response(
            s.IncidentSerializer(self.get_queryset().get(pk=incident.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Edit an incident or change its status",
        request=s.IncidentUpdateSerializer,
        responses={200: s.IncidentSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    def partial_update(self, request, pk=None):
        incident = self.get_object()
        body = s.IncidentUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incidents.edit_incident(incident.pk, actor(request), body.validated_data)
        return Response(s.IncidentSerializer(self.get_queryset().get(pk=incident.pk)).data)

    @extend_schema(
        summary="Attach alerts to an incident",
        request=s.AttachAlertsSerializer,
        responses={200: s.IncidentSerializer, 400: OpenApiResponse(description="Unknown alert ids."), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="alerts")
    def attach_alerts(self, request, pk=None):
        incident = self.get_object()
        body = s.AttachAlertsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incidents.attach_alerts(incident.pk, body.validated_data["alerts"], actor(request))
        return Response(s.IncidentSerializer(self.get_queryset().get(pk=incident.pk)).data)

    @extend_schema(
        summary="The incident's timeline, oldest first",
        responses={200: s.TimelineEntrySerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def timeline(self, request, pk=None):
        incident = self.get_object()
        return Response(s.TimelineEntrySerializer(incidents.timeline(incident.pk), many=True).data)

    @extend_schema(
        summary="Add a note to the timeline",
        request=s.NoteSerializer,
        responses={201: s.TimelineEntrySerializer, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        incident = self.get_object()
        body = s.NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = incidents.add_note(incident.pk, body.validated_data["text"], actor(request))
        return Response(s.TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class AuditedConfigMixin:
    """Creates, changes and deletes through ``alerts.config_audit``: each one leaves an audit line."""

    def perform_create(self, serializer):
        save_audited(actor(self.request), serializer.save)  # type: ignore[attr-defined]  # a view mixin

    def perform_update(self, serializer):
        save_audited(actor(self.request), serializer.save, serializer.instance)  # type: ignore[attr-defined]

    def perform_destroy(self, instance):
        delete_audited(actor(self.request), instance)  # type: ignore[attr-defined]


class RuleViewSet(AuditedConfigMixin, viewsets.ModelViewSet):
    lookup_value_regex = ServiceErrorsMixin.lookup_value_regex
    queryset = AlertRule.objects.all()
    serializer_class = s.AlertRuleSerializer
    filterset_fields = ["enabled", "metric", "severity", "category"]
    search_fields = ["name", "metric", "title"]
    ordering_fields = ["id", "name", "metric"]
    ordering = ["name"]
    http_method_names = WITHOUT_PUT


class SilenceViewSet(
    AuditedConfigMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    lookup_value_regex = ServiceErrorsMixin.lookup_value_regex
    queryset = Silence.objects.all()
    serializer_class = s.SilenceSerializer
    ordering_fields = ["id", "starts_at", "ends_at"]
    ordering = ["-starts_at", "-id"]
    action_permissions = {"preview": "alerts.view_alert", "expire": "alerts.change_silence"}

    def perform_create(self, serializer):
        save_audited(actor(self.request), lambda: serializer.save(created_by=actor(self.request)))

    @extend_schema(
        summary="The unresolved alerts some matchers would silence now",
        request=s.SilencePreviewSerializer,
        responses={200: s.SilencePreviewAnswerSerializer},
    )
    @action(detail=False, methods=["post"], pagination_class=None)
    def preview(self, request):
        body = s.SilencePreviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        count, caught = silences.caught_alerts(body.validated_data["matchers"])
        return Response({"count": count, "alerts": caught})

    @extend_schema(
        summary="End a silence now (it stays listed as ended)",
        request=NoFields,
        responses={200: s.SilenceSerializer, 404: NOT_FOUND, 409: OpenApiResponse(s.ErrorSerializer)},
    )
    @action(detail=True, methods=["post"])
    def expire(self, request, pk=None):
        NoFields(data=request.data).is_valid(raise_exception=True)
        try:
            silence = silences.expire_silence(pk, actor(request))
        except Silence.DoesNotExist:
            raise not_found(Silence) from None
        except silences.SilenceEnded as error:
            exception = Conflict()
            exception.detail = {"detail": str(error)}  # type: ignore[dict-item]
            raise exception from None
        return Response(s.SilenceSerializer(silence).data)


class StatsView(APIView):
    """Counts for the overview: alerts, incidents, metrics and sockets."""

    permission_model = Alert

    @extend_schema(summary="Overview counts", responses={200: s.StatsSerializer})
    def get(self, request):
        from metrics.services import metrics_stats
        from realtime.stats import connection_stats

        seq = stream_position(ALERTS)  # before the counts, as StreamPositionMixin: they are at least this current
        response = Response(
            {
                "alerts": services.alert_summary(),
                "open_incidents": Incident.objects.exclude(status=IncidentStatus.RESOLVED).count(),
                **metrics_stats(),
                "connected_sockets": connection_stats()["connected_sockets"],
            }
        )
        if seq is not None:
            response["X-Stream-Seq"] = str(seq)
        return response

"""Notification channels and their delivery log over REST (contract, section 6).

The channel's signing secret is in the answer to its creation only; after
that it is never shown again (the admin shows it once too).
"""

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from alerts.api.views import AuditedConfigMixin
from alerts.models import Delivery, NotificationChannel, Severity
from alerts.notifications.queue import queue_test
from alerts.notifications.targets import channel_problems
from alerts.services import actor_name
from opsconsole.api import WITHOUT_PUT
from opsconsole.strict import NoFields, StrictModelSerializer

MIN_REPEAT_INTERVAL = 60  # seconds: more often than a minute is a flood, not a reminder


class ChannelSerializer(StrictModelSerializer):
    severities = serializers.ListField(child=serializers.ChoiceField(Severity.choices), required=False, max_length=3)
    categories = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=100)
    repeat_interval = serializers.IntegerField(
        min_value=MIN_REPEAT_INTERVAL, max_value=30 * 86400, allow_null=True, required=False
    )

    class Meta:
        model = NotificationChannel
        fields = [
            "id",
            "name",
            "kind",
            "url",
            "emails",
            "severities",
            "categories",
            "send_resolved",
            "repeat_interval",
            "enabled",
        ]
        read_only_fields = ["id"]

    def validate(self, attrs):
        def current(field):
            return attrs.get(field, getattr(self.instance, field, ""))

        problems = channel_problems(current("kind"), current("url"), current("emails"))
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class CreatedChannelSerializer(ChannelSerializer):
    """The answer to a creation: the channel, and its signing secret this once."""

    secret = serializers.CharField(read_only=True, help_text="Webhook signing secret; shown only here.")

    class Meta(ChannelSerializer.Meta):
        fields = [*ChannelSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    alert = serializers.IntegerField(source="alert_id", read_only=True, allow_null=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "channel",
            "alert",
            "event",
            "status",
            "attempts",
            "next_attempt_at",
            "response_code",
            "last_error",
            "created_at",
            "sent_at",
            "payload",
        ]
        read_only_fields = fields


class DeliveryFilter(django_filters.FilterSet):
    alert = django_filters.NumberFilter(field_name="alert_id")
    channel = django_filters.NumberFilter(field_name="channel_id")

    class Meta:
        model = Delivery
        fields = ["alert", "channel", "status", "event"]


@extend_schema_view(
    list=extend_schema(summary="List notification channels"),
    create=extend_schema(
        summary="Create a channel (its secret is in this answer only)", responses={201: CreatedChannelSerializer}
    ),
    retrieve=extend_schema(summary="Get a channel"),
    partial_update=extend_schema(summary="Change a channel"),
    destroy=extend_schema(summary="Delete a channel and its delivery log"),
)
class ChannelViewSet(AuditedConfigMixin, viewsets.ModelViewSet):
    lookup_value_regex = r"[0-9]{1,18}"
    queryset = NotificationChannel.objects.filter(personal=False)  # contact methods: /api/v1/oncall/contact-methods/
    serializer_class = ChannelSerializer
    filterset_fields = ["kind", "enabled"]
    ordering_fields = ["id", "name"]
    ordering = ["name"]
    http_method_names = WITHOUT_PUT
    staff_only = True  # a channel holds where pages go and how they are signed (contract, section 6)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(CreatedChannelSerializer(serializer.instance).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Queue a test notification to this channel",
        request=NoFields,
        responses={
            202: OpenApiResponse(DeliverySerializer, description="The queued delivery; follow it in deliveries.")
        },
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        NoFields(data=request.data).is_valid(raise_exception=True)
        delivery = queue_test(self.get_object(), actor_name(request.user))
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(list=extend_schema(summary="List deliveries (newest first), by alert and channel"))
class DeliveryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    staff_only = True
    queryset = Delivery.objects.all()
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    ordering_fields = ["id", "created_at"]
    ordering = ["-created_at", "-id"]

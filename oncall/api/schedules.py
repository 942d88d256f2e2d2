"""Schedules, layers, overrides, calendar feeds and "who is on call" over REST. Staff only, as channels are."""

from datetime import datetime, timedelta
from zoneinfo import available_timezones

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.services import actor_name
from oncall.feeds import make_feed
from oncall.models import CalendarFeed, Layer, LayerMember, Override, Schedule
from oncall.schedules import calendar, now_and_next, with_layers
from opsconsole.api import WITHOUT_PUT
from opsconsole.strict import StrictModelSerializer

MAX_WINDOW = timedelta(days=120)
ID_PATTERN = r"[0-9]{1,18}"


def staff_users():
    return get_user_model().objects.filter(is_staff=True, is_active=True)


class ShiftSerializer(serializers.Serializer):
    schedule = serializers.IntegerField()
    schedule_name = serializers.CharField()
    user = serializers.IntegerField()
    username = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    override = serializers.BooleanField()


class OnCallSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    time_zone = serializers.CharField()
    now = ShiftSerializer(allow_null=True)
    next = ShiftSerializer(allow_null=True)


class ScheduleSerializer(StrictModelSerializer):
    class Meta:
        model = Schedule
        fields = ["id", "name", "time_zone", "description"]
        read_only_fields = ["id"]

    def validate_time_zone(self, value):
        if value not in available_timezones():
            raise ValidationError(f"{value!r} is not a time zone name (such as Europe/Berlin or UTC).")
        return value


class LayerSerializer(StrictModelSerializer):
    users = serializers.ListField(
        child=serializers.PrimaryKeyRelatedField(queryset=staff_users()),
        min_length=1,
        max_length=100,
        help_text="Staff user ids in the order they take turns.",
    )
    shift_days = serializers.IntegerField(min_value=1, max_value=366, required=False)

    class Meta:
        model = Layer
        fields = ["id", "schedule", "name", "level", "rotation", "shift_days", "starts_on", "handoff_time", "users"]
        read_only_fields = ["id"]

    def to_representation(self, instance):
        return {
            "id": instance.pk,
            "schedule": instance.schedule_id,
            "name": instance.name,
            "level": instance.level,
            "rotation": instance.rotation,
            "shift_days": instance.length_days,
            "starts_on": instance.starts_on.isoformat(),
            "handoff_time": instance.handoff_time.strftime("%H:%M:%S"),
            "users": [member.user_id for member in sorted(instance.members.all(), key=lambda m: m.position)],
        }

    def validate_users(self, value):
        if len({user.pk for user in value}) != len(value):
            raise ValidationError("Each user may appear once in a layer.")
        return value

    @transaction.atomic
    def save(self, **kwargs):
        users = self.validated_data.pop("users", None)
        layer = super().save(**kwargs)
        if users is not None:
            layer.members.all().delete()
            LayerMember.objects.bulk_create(
                [LayerMember(layer=layer, user=user, position=index) for index, user in enumerate(users)]
            )
        return layer


class OverrideSerializer(StrictModelSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=staff_users())

    class Meta:
        model = Override
        fields = ["id", "schedule", "user", "starts_at", "ends_at", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs):
        start = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        end = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if start and end and end <= start:
            raise ValidationError({"ends_at": "An override must end after it starts."})
        return attrs


class FeedSerializer(StrictModelSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=staff_users(), required=False, allow_null=True)

    class Meta:
        model = CalendarFeed
        fields = ["id", "schedule", "user", "prefix", "created_by", "created_at"]
        read_only_fields = ["id", "prefix", "created_by", "created_at"]

    def validate(self, attrs):
        if bool(attrs.get("schedule")) == bool(attrs.get("user")):
            raise ValidationError({"schedule": "Give a schedule or a user (whose shifts the feed lists), not both."})
        return attrs


class CreatedFeedSerializer(FeedSerializer):
    url = serializers.CharField(read_only=True, help_text="The feed's address with its secret key; shown only here.")

    class Meta(FeedSerializer.Meta):
        fields = [*FeedSerializer.Meta.fields, "url"]


class StaffOnly:
    staff_only = True  # who is paged, and how, is the team's configuration (as channels are)
    lookup_value_regex = ID_PATTERN


def _window(request) -> tuple[datetime, datetime]:
    field = serializers.DateTimeField()
    try:
        start = (
            field.to_internal_value(request.query_params["start"])
            if "start" in request.query_params
            else timezone.now()
        )
        end = (
            field.to_internal_value(request.query_params["end"])
            if "end" in request.query_params
            else start + timedelta(days=28)
        )
    except serializers.ValidationError as error:
        raise ValidationError({"start/end": error.detail}) from None
    if not start < end <= start + MAX_WINDOW:
        raise ValidationError({"end": f"end must be after start and at most {MAX_WINDOW.days} days later."})
    return start, end


WINDOW = [
    OpenApiParameter("start", datetime, description="From (default now)."),
    OpenApiParameter("end", datetime, description="To (default 28 days after start; at most 120)."),
]


@extend_schema_view(
    list=extend_schema(summary="List schedules"),
    create=extend_schema(summary="Create a schedule"),
    retrieve=extend_schema(summary="Get a schedule"),
    partial_update=extend_schema(summary="Change a schedule"),
    destroy=extend_schema(summary="Delete a schedule, its layers and overrides"),
)
class ScheduleViewSet(StaffOnly, viewsets.ModelViewSet):
    http_method_names = WITHOUT_PUT
    queryset = Schedule.objects.all()
    serializer_class = ScheduleSerializer
    ordering = ["name"]

    @extend_schema(summary="A schedule's shifts over a window", parameters=WINDOW, responses=ShiftSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def shifts(self, request, pk=None):
        schedule = self.get_object()
        start, end = _window(request)
        rows = calendar(with_layers(Schedule.objects.filter(pk=schedule.pk)), start, end)
        return Response(ShiftSerializer(rows, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="List rotation layers"),
    create=extend_schema(summary="Add a rotation layer to a schedule"),
    retrieve=extend_schema(summary="Get a layer"),
    partial_update=extend_schema(summary="Change a layer"),
    destroy=extend_schema(summary="Delete a layer"),
)
class LayerViewSet(StaffOnly, viewsets.ModelViewSet):
    http_method_names = WITHOUT_PUT
    queryset = Layer.objects.prefetch_related("members")
    serializer_class = LayerSerializer
    filterset_fields = ["schedule"]
    ordering = ["schedule", "-level", "id"]


@extend_schema_view(
    list=extend_schema(summary="List overrides"),
    create=extend_schema(summary="Add an override: someone takes a stretch of a schedule"),
    retrieve=extend_schema(summary="Get an override"),
    partial_update=extend_schema(summary="Change an override"),
    destroy=extend_schema(summary="Delete an override"),
)
class OverrideViewSet(StaffOnly, viewsets.ModelViewSet):
    http_method_names = WITHOUT_PUT
    queryset = Override.objects.all()
    serializer_class = OverrideSerializer
    filterset_fields = ["schedule", "user"]
    ordering = ["starts_at", "id"]


@extend_schema_view(
    list=extend_schema(summary="List calendar feeds (their keys are never shown again)"),
    create=extend_schema(
        summary="Make a calendar feed; its URL is in this answer only", responses={201: CreatedFeedSerializer}
    ),
    retrieve=extend_schema(summary="Get a calendar feed"),
    destroy=extend_schema(summary="Revoke a calendar feed"),
)
class FeedViewSet(
    StaffOnly,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = CalendarFeed.objects.all()
    serializer_class = FeedSerializer
    ordering = ["-created_at", "-id"]

    def create(self, request, *args, **kwargs):
        body = FeedSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        feed, key = make_feed(
            schedule=body.validated_data.get("schedule"),
            user=body.validated_data.get("user"),
            actor=actor_name(request.user),
        )
        feed.url = request.build_absolute_uri(reverse("oncall-feed", args=[key]))  # type: ignore[attr-defined]
        return Response(CreatedFeedSerializer(feed).data, status=status.HTTP_201_CREATED)


class OnCallView(APIView):
    """Who is on call now and next, per schedule."""

    staff_only = True

    @extend_schema(summary="Who is on call now and next, per schedule", responses=OnCallSerializer(many=True))
    def get(self, request):
        return Response(OnCallSerializer(now_and_next(), many=True).data)

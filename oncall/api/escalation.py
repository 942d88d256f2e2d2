"""Contact methods, personal notification rules and escalation policies over REST. Staff only."""

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from alerts.api.channels import DeliverySerializer
from alerts.models import NotificationChannel, Severity
from alerts.notifications.targets import channel_problems
from alerts.services import actor_name
from oncall import contacts
from oncall.api.schedules import StaffOnly, staff_users
from oncall.models import ContactMethod, EscalationPolicy, EscalationStep, NotificationRule, Schedule
from opsconsole.api import WITHOUT_PUT
from opsconsole.strict import NoFields, StrictModelSerializer, StrictSerializer

MAX_STEPS = 20
MAX_WAIT_MINUTES = 24 * 60


class ContactMethodSerializer(StrictModelSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=staff_users())
    kind = serializers.ChoiceField(NotificationChannel.Kind.choices, source="channel.kind")
    url = serializers.CharField(source="channel.url", required=False, allow_blank=True, max_length=2000)
    emails = serializers.CharField(source="channel.emails", required=False, allow_blank=True)

    class Meta:
        model = ContactMethod
        fields = ["id", "user", "label", "kind", "url", "emails"]
        read_only_fields = ["id"]

    def validate(self, attrs):
        target = attrs.get("channel", {})
        current = self.instance.channel if self.instance else None

        def value(name):
            return target.get(name, getattr(current, name, ""))

        problems = channel_problems(value("kind"), value("url"), value("emails"))
        if problems:
            raise ValidationError(problems)
        return attrs

    def create(self, validated_data):
        target = validated_data.pop("channel")
        return contacts.add_contact_method(validated_data["user"], validated_data["label"], **target)

    def update(self, instance, validated_data):
        if "user" in validated_data and validated_data["user"] != instance.user:
            raise ValidationError({"user": "A contact method stays with its person; make a new one."})
        fields = validated_data.pop("channel", {})
        if "label" in validated_data:
            fields["label"] = validated_data["label"]
        return contacts.change_contact_method(instance, **fields)


class NotificationRuleSerializer(StrictModelSerializer):
    delay_minutes = serializers.IntegerField(min_value=0, max_value=MAX_WAIT_MINUTES, required=False)

    class Meta:
        model = NotificationRule
        fields = ["id", "user", "severity", "contact_method", "delay_minutes"]
        read_only_fields = ["id", "user"]

    def validate(self, attrs):
        method = attrs.get("contact_method", getattr(self.instance, "contact_method", None))
        attrs["user"] = method.user
        return attrs


class EscalationStepSerializer(StrictSerializer):
    target = serializers.ChoiceField(EscalationStep.Target.choices)
    schedule = serializers.PrimaryKeyRelatedField(queryset=Schedule.objects.all(), required=False, allow_null=True)
    users = serializers.PrimaryKeyRelatedField(queryset=staff_users(), many=True, required=False)
    channel = serializers.PrimaryKeyRelatedField(
        queryset=NotificationChannel.objects.filter(personal=False), required=False, allow_null=True
    )
    wait_minutes = serializers.IntegerField(min_value=0, max_value=MAX_WAIT_MINUTES, default=5)

    def validate(self, attrs):
        target = attrs["target"]
        if target == EscalationStep.Target.SCHEDULE and not attrs.get("schedule"):
            raise ValidationError({"schedule": "A step that pages a schedule's on-call names the schedule."})
        if target == EscalationStep.Target.USERS and not attrs.get("users"):
            raise ValidationError({"users": "A step that pages people names at least one."})
        if target == EscalationStep.Target.CHANNEL and not attrs.get("channel"):
            raise ValidationError({"channel": "A step that notifies a channel names the channel."})
        return attrs


class PolicySerializer(StrictModelSerializer):
    matchers = serializers.DictField(child=serializers.CharField(max_length=500), required=False)
    severities = serializers.ListField(child=serializers.ChoiceField(Severity.choices), required=False, max_length=3)
    repeat = serializers.IntegerField(min_value=0, max_value=10, required=False)
    unacknowledge_after = serializers.IntegerField(
        min_value=1, max_value=MAX_WAIT_MINUTES, required=False, allow_null=True
    )
    steps = EscalationStepSerializer(many=True)

    class Meta:
        model = EscalationPolicy
        fields = [
            "id",
            "name",
            "position",
            "matchers",
            "severities",
            "is_default",
            "repeat",
            "unacknowledge_after",
            "enabled",
            "steps",
        ]
        read_only_fields = ["id"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["steps"] = [
            {
                "target": step.target,
                "schedule": step.schedule_id,
                "users": [user.pk for user in step.users.all()],
                "channel": step.channel_id,
                "wait_minutes": step.wait_minutes,
            }
            for step in instance.steps.order_by("position")
        ]
        return data

    def validate_steps(self, value):
        if not 1 <= len(value) <= MAX_STEPS:
            raise ValidationError(f"A policy has 1 to {MAX_STEPS} steps.")
        return value

    def validate_matchers(self, value):
        if len(value) > 64 or any(len(key) > 100 for key in value):
            raise ValidationError("At most 64 labels, names of at most 100 characters.")
        return value

    def validate_is_default(self, value):
        others = EscalationPolicy.objects.filter(is_default=True)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if value and others.exists():
            raise ValidationError(f"{others.first()} is already the default policy.")
        return value

    @transaction.atomic
    def save(self, **kwargs):
        steps = self.validated_data.pop("steps", None)
        policy = super().save(**kwargs)
        if steps is not None:
            save_steps(policy, steps)
        return policy


def save_steps(policy: EscalationPolicy, steps: list[dict]) -> None:
    """Replace the policy's steps with ``steps``, in order (the API and the editor page both call this)."""
    policy.steps.all().delete()
    for position, step in enumerate(steps):
        users = step.get("users") or []
        made = EscalationStep.objects.create(
            policy=policy,
            position=position,
            target=step["target"],
            schedule=step.get("schedule") if step["target"] == EscalationStep.Target.SCHEDULE else None,
            channel=step.get("channel") if step["target"] == EscalationStep.Target.CHANNEL else None,
            wait_minutes=step.get("wait_minutes", 5),
        )
        if step["target"] == EscalationStep.Target.USERS:
            made.users.set(users)


@extend_schema_view(
    list=extend_schema(summary="List contact methods"),
    create=extend_schema(summary="Add a contact method for a person"),
    retrieve=extend_schema(summary="Get a contact method"),
    partial_update=extend_schema(summary="Change a contact method"),
    destroy=extend_schema(summary="Delete a contact method and its rules"),
)
class ContactMethodViewSet(StaffOnly, viewsets.ModelViewSet):
    http_method_names = WITHOUT_PUT
    queryset = ContactMethod.objects.select_related("channel", "user")
    serializer_class = ContactMethodSerializer
    filterset_fields = ["user"]
    ordering = ["user", "label"]

    def perform_destroy(self, instance):
        contacts.delete_contact_method(instance)

    @extend_schema(
        summary="Send me a test: queue a test notification to this contact method",
        request=NoFields,
        responses={202: OpenApiResponse(DeliverySerializer, description="The queued delivery.")},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        NoFields(data=request.data).is_valid(raise_exception=True)
        delivery = contacts.send_test(self.get_object(), actor_name(request.user))
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="List personal notification rules"),
    create=extend_schema(summary="Add a personal notification rule"),
    retrieve=extend_schema(summary="Get a notification rule"),
    partial_update=extend_schema(summary="Change a notification rule"),
    destroy=extend_schema(summary="Delete a notification rule"),
)
class NotificationRuleViewSet(StaffOnly, viewsets.ModelViewSet):
    http_method_names = WITHOUT_PUT
    queryset = NotificationRule.objects.all()
    serializer_class = NotificationRuleSerializer
    filterset_fields = ["user", "severity"]
    ordering = ["user", "severity", "delay_minutes", "id"]


@extend_schema_view(
    list=extend_schema(summary="List escalation policies, in the order they are tried"),
    create=extend_schema(summary="Create an escalation policy with its steps"),
    retrieve=extend_schema(summary="Get an escalation policy"),
    partial_update=extend_schema(summary="Change an escalation policy (steps given replace all)"),
    destroy=extend_schema(summary="Delete an escalation policy"),
)
class PolicyViewSet(StaffOnly, viewsets.ModelViewSet):
    http_method_names = WITHOUT_PUT
    queryset = EscalationPolicy.objects.prefetch_related("steps__users")
    serializer_class = PolicySerializer
    ordering = ["position", "id"]

"""``/api/v1/components/``: report a component's status, list and read them (contract section 8)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from components.api.serializers import ComponentSerializer, StatusReport, valid_name
from components.models import Component
from components.services import report_status, status_data

# A name in the path may be any segment; a bad one is a 400 that says why, not a 404.
NAME_IN_PATH = r"[^/]{1,200}"


class ComponentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Component.objects.all()
    serializer_class = ComponentSerializer
    lookup_field = "name"
    lookup_value_regex = NAME_IN_PATH
    ordering_fields = ["name", "last_check", "status"]
    ordering = ["name"]
    # Reporting is what an agent does, like pushing metrics: the same permission lets it.
    action_permissions = {"report": "metrics.add_series"}

    @extend_schema(
        summary="Report a component's status",
        description=(
            "Creates the component on its first report. The next report is due within `expect_every` "
            "seconds (+ `grace`); past that a `heartbeat` alert is raised, resolved by the next report."
        ),
        request=StatusReport,
        responses={200: ComponentSerializer},
    )
    @action(detail=True, methods=["post"], url_path="status")
    def report(self, request, name=None):
        if not valid_name(name):
            raise ValidationError(
                {"name": [f"{name[:64]!r} is not a component name: letters, digits, '.', '_', ':' and '-', 1 to 100."]}
            )
        body = StatusReport(data=request.data)
        body.is_valid(raise_exception=True)
        component = report_status(
            name,
            body.validated_data["status"],
            expect_every=body.validated_data["expect_every"],
            details=body.validated_data["details"],
            grace=body.validated_data.get("grace"),
        )
        return Response(status_data(component), status=status.HTTP_200_OK)

"""REST endpoints for metrics: ingest, series, query, latest (contract, section 2).

Thin: ``parsers`` reads the body, ``query_string`` the parameters, the
services and ``metrics.query`` do the work, ``serializers`` describe answers.
"""

from datetime import UTC, datetime, timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics import points as point_rules
from metrics.api.parsers import Exposition, JSONMaybeGzipParser, OpenMetricsTextParser, PrometheusTextParser
from metrics.api.query_string import (
    MAX_STEP_SECONDS,
    TAG_PARAMETER,
    TIME_PARAMETERS,
    parse_name,
    parse_tags,
    parse_time,
)
from metrics.api.serializers import (
    IngestAccepted,
    IngestBody,
    IngestRejected,
    LatestAnswer,
    QueryAnswer,
    SeriesSerializer,
)
from metrics.formats.prometheus import parse_exposition
from metrics.models import Series
from metrics.query import QUERY_AGGREGATES, InvalidQuery, query_series
from metrics.services import ingest_points, latest_payload, latest_values


def invalid_item(error):
    """The 400 of a line protocol, exposition or OTLP item: which one, and why."""
    return Response(
        {"detail": str(error), "errors": [{"item": error.item, "message": error.message}]},
        status=status.HTTP_400_BAD_REQUEST,
    )


class IngestView(APIView):
    # Permission: adding samples (metrics.add_series), or staff.
    permission_model = Series
    parser_classes = [JSONMaybeGzipParser, PrometheusTextParser, OpenMetricsTextParser]

    @extend_schema(
        summary="Push metric points (all or nothing)",
        description=(
            "A JSON body of points, or Prometheus text exposition (`text/plain; version=0.0.4`) or "
            "OpenMetrics text (`application/openmetrics-text`): each sample a point, labels as tags; "
            "NaN and infinite samples are skipped and counted in `skipped`."
        ),
        request={
            "application/json": IngestBody,
            "text/plain": OpenApiTypes.STR,
            "application/openmetrics-text": OpenApiTypes.STR,
        },
        responses={202: IngestAccepted, 400: IngestRejected},
    )
    def post(self, request):
        if isinstance(request.data, Exposition):
            return self._exposition(request.data)
        try:
            parsed = point_rules.parse_points(request.data)
        except point_rules.InvalidBody as error:
            raise ValidationError({"detail": str(error), "errors": []}) from None
        except point_rules.InvalidPoints as error:
            return Response({"detail": str(error), "errors": error.errors}, status=status.HTTP_400_BAD_REQUEST)
        accepted = ingest_points(parsed)
        return Response({"accepted": accepted}, status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def _exposition(body):
        try:
            parsed = parse_exposition(body.text, openmetrics=body.openmetrics)
        except point_rules.InvalidItem as error:
            return invalid_item(error)
        except point_rules.InvalidBody as error:
            raise ValidationError({"detail": str(error), "errors": []}) from None
        accepted = ingest_points(parsed.points)
        return Response({"accepted": accepted, "skipped": parsed.skipped}, status=status.HTTP_202_ACCEPTED)


class QueryView(APIView):
    permission_model = Series

    @extend_schema(
        summary="Downsampled history of a metric",
        parameters=[
            OpenApiParameter("name", OpenApiTypes.STR, required=True),
            TAG_PARAMETER,
            *TIME_PARAMETERS,
            OpenApiParameter("step", OpenApiTypes.INT, description="seconds per point; default: range / 1000"),
            OpenApiParameter(
                "agg",
                OpenApiTypes.STR,
                enum=list(QUERY_AGGREGATES),
                description="default avg; rate: a counter's per-second rise per step",
            ),
        ],
        responses={200: QueryAnswer},
    )
    def get(self, request):
        params = request.query_params
        name = parse_name(params.get("name"), required=True)
        end = parse_time(params["end"], "end") if params.get("end") else datetime.now(UTC)
        start = parse_time(params["start"], "start") if params.get("start") else end - timedelta(hours=1)
        step = None
        if params.get("step"):
            try:
                step = int(params["step"])
            except ValueError:
                raise ValidationError({"step": ["Must be a whole number of seconds."]}) from None
            if step > MAX_STEP_SECONDS:  # a larger one overflows the database's interval: a 500
                raise ValidationError({"step": [f"Must be at most {MAX_STEP_SECONDS} seconds."]})
        try:
            series = query_series(
                name=name,
                tags=parse_tags(params.getlist("tag")),
                start=start,
                end=end,
                step=step,
                agg=params.get("agg", "avg"),
            )
        except InvalidQuery as error:
            raise ValidationError({error.field: [error.message]}) from None
        return Response({"series": series})


class LatestView(APIView):
    permission_model = Series

    @extend_schema(
        summary="The last value of every series",
        parameters=[OpenApiParameter("name", OpenApiTypes.STR), TAG_PARAMETER],
        responses={200: LatestAnswer},
    )
    def get(self, request):
        series = latest_values(
            name=parse_name(request.query_params.get("name"), required=False),
            tags=parse_tags(request.query_params.getlist("tag")),
        )
        return Response({"series": [latest_payload(item) for item in series]})


class SeriesListView(generics.ListAPIView):
    queryset = Series.objects.all()
    serializer_class = SeriesSerializer
    filterset_fields = ["name"]
    search_fields = ["name", "tags_key"]
    ordering_fields = ["name", "last_at", "id"]
    ordering = ["name", "tags_key"]

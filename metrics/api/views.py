"""REST endpoints for metrics: ingest, series, query, latest (contract, section 2)."""

import json
import zlib
from datetime import UTC, datetime, timedelta

import orjson
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics import points as point_rules
from metrics.models import Series
from metrics.query import AGGREGATES, InvalidQuery, query_series
from metrics.services import ingest_points, latest_payload, latest_values
from opsconsole.parsers import check_strings

MAX_BODY_BYTES = 16 * 1024 * 1024  # 10,000 generous points, decompressed


class JSONMaybeGzipParser(BaseParser):
    """JSON bodies, plain or ``Content-Encoding: gzip`` (agents on slow links compress)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        raw = stream.read(MAX_BODY_BYTES + 1) if stream else b""
        if request.META.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
            try:
                decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
                raw = decompressor.decompress(raw, MAX_BODY_BYTES + 1)
            except zlib.error:
                raise ParseError("Content-Encoding is gzip but the body is not valid gzip.") from None
        if len(raw) > MAX_BODY_BYTES:
            raise ParseError(f"The body is larger than {MAX_BODY_BYTES} bytes.")
        try:
            # Strict JSON and UTF-8, parsed in C: twice as fast as json on a
            # 10,000-point body (bench/ingest.py), the ingest path's first cost.
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            # Anything it refuses takes the lenient parser, whose answers are
            # the contract's: NaN and Infinity literals (what Python agents
            # send for non-finite floats) become per-point errors, and the
            # rest a 400 saying what is wrong with the body.
            data = self._parse_leniently(raw)
        # Strict UTF-8 and strict JSON let a NUL or a lone surrogate in only
        # through a \u escape: walk every string (slow on 10,000 points) only
        # when the body has one.
        return check_strings(data) if b"\\u" in raw else data

    @staticmethod
    def _parse_leniently(raw):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("The body is not valid UTF-8.") from None
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise ParseError("The body is not valid JSON.") from None


class SeriesSerializer(serializers.ModelSerializer):
    class Meta:
        model = Series
        fields = ["id", "name", "tags", "last_value", "last_at", "created_at"]
        read_only_fields = fields


class PointSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="letters, digits, _ . : - ; e.g. cpu_percent")
    value = serializers.FloatField()
    timestamp = serializers.CharField(
        required=False, help_text="ISO-8601, or epoch seconds as a number; now when absent."
    )
    tags = serializers.DictField(child=serializers.CharField(), required=False)


class IngestBody(serializers.Serializer):
    points = PointSerializer(many=True)


class IngestAccepted(serializers.Serializer):
    accepted = serializers.IntegerField()


class PointError(serializers.Serializer):
    index = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class IngestRejected(serializers.Serializer):
    detail = serializers.CharField()
    errors = PointError(many=True, required=False, help_text="Every bad point, when the body itself was readable.")


class SeriesPoints(serializers.Serializer):
    name = serializers.CharField()
    tags = serializers.DictField(child=serializers.CharField())
    points = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(allow_null=True)),
        help_text="[epoch_seconds, value] pairs, one per step",
    )


class QueryAnswer(serializers.Serializer):
    series = SeriesPoints(many=True)


class LatestValue(serializers.Serializer):
    name = serializers.CharField()
    tags = serializers.DictField(child=serializers.CharField())
    value = serializers.FloatField(allow_null=True)
    timestamp = serializers.DateTimeField(allow_null=True)


class LatestAnswer(serializers.Serializer):
    series = LatestValue(many=True)


class IngestView(APIView):
    permission_model = Series
    parser_classes = [JSONMaybeGzipParser]

    @extend_schema(
        summary="Push metric points (all or nothing)",
        request=IngestBody,
        responses={202: IngestAccepted, 400: IngestRejected},
    )
    def post(self, request):
        try:
            parsed = point_rules.parse_points(request.data)
        except point_rules.InvalidBody as error:
            raise ValidationError({"detail": str(error), "errors": []}) from None
        except point_rules.InvalidPoints as error:
            return Response({"detail": str(error), "errors": error.errors}, status=status.HTTP_400_BAD_REQUEST)
        accepted = ingest_points(parsed)
        return Response({"accepted": accepted}, status=status.HTTP_202_ACCEPTED)


QUERY_HORIZON = timedelta(days=3650)  # a query may look ahead; only stored points must not
MAX_STEP_SECONDS = int(QUERY_HORIZON.total_seconds())


def parse_time(raw, field):
    try:
        return point_rules.parse_timestamp(float(raw) if _is_number(raw) else raw, datetime.now(UTC) + QUERY_HORIZON)
    except ValueError as error:
        raise ValidationError({field: [f"{raw!r} {error}"]}) from None


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_tags(values):
    tags = {}
    for raw in values:
        key, sep, value = raw.partition(":")
        if not sep or not key or not value or "\x00" in raw:
            raise ValidationError({"tag": [f"{raw!r} is not key:value"]})
        tags[key] = value
    return tags


def parse_name(raw, *, required):
    if not raw:
        if required:
            raise ValidationError({"name": ["This parameter is required."]})
        return None
    if "\x00" in raw:  # Postgres text cannot hold NUL: psycopg would raise, a 500
        raise ValidationError({"name": ["Must not contain a NUL character."]})
    return raw


TIME_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.STR, description="ISO-8601 or epoch seconds; default: an hour before end"),
    OpenApiParameter("end", OpenApiTypes.STR, description="ISO-8601 or epoch seconds; default: now"),
]
TAG_PARAMETER = OpenApiParameter("tag", OpenApiTypes.STR, many=True, description="key:value, repeatable; exact match")


class QueryView(APIView):
    permission_model = Series

    @extend_schema(
        summary="Downsampled history of a metric",
        parameters=[
            OpenApiParameter("name", OpenApiTypes.STR, required=True),
            TAG_PARAMETER,
            *TIME_PARAMETERS,
            OpenApiParameter("step", OpenApiTypes.INT, description="seconds per point; default: range / 1000"),
            OpenApiParameter("agg", OpenApiTypes.STR, enum=list(AGGREGATES), description="default avg"),
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

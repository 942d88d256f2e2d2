"""Metric endpoints in other tools' own protocols (contract, section 7).

``/api/v2/write`` answers as InfluxDB's write API does, and
``/api/v1/metrics/otlp/v1/metrics`` as an OTLP/HTTP receiver: their senders
read those shapes. Both parse with ``metrics.formats`` and store through
``ingest_points``, like the JSON ingest endpoint.
"""

import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from rest_framework import status
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.api.parsers import LineProtocolParser, OtlpBody, OtlpJsonParser, OtlpProtobufParser
from metrics.formats import influx, otlp
from metrics.models import Series
from metrics.points import InvalidBody, InvalidItem
from metrics.services import ingest_points


def _message(data):
    if isinstance(data, dict) and "detail" in data:
        return str(data["detail"])
    return str(data)


class InfluxWriteView(APIView):
    """InfluxDB 2's ``POST /api/v2/write``: what Telegraf's ``outputs.influxdb_v2`` sends."""

    # Permission: adding samples, as the JSON ingest endpoint requires (metrics.add_series or staff).
    permission_model = Series
    parser_classes = [LineProtocolParser]

    @extend_schema(
        summary="Write Influx line protocol (all or nothing)",
        parameters=[
            OpenApiParameter("precision", OpenApiTypes.STR, enum=list(influx.PRECISIONS), description="default ns"),
            OpenApiParameter("org", OpenApiTypes.STR, description="accepted and ignored"),
            OpenApiParameter("bucket", OpenApiTypes.STR, description="accepted and ignored"),
        ],
        request={"text/plain": OpenApiTypes.STR},
        responses={204: None, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        precision = request.query_params.get("precision", "ns")
        if precision not in influx.PRECISIONS:
            return self._invalid(f"precision must be one of {', '.join(influx.PRECISIONS)}, not {precision[:20]!r}")
        try:
            # DRF hands an empty body over as {} without asking the parser.
            points = influx.parse_lines(request.data if isinstance(request.data, str) else "", precision)
        except InvalidItem as error:
            return self._invalid(str(error), line=error.line)
        except InvalidBody as error:
            return self._invalid(str(error))
        ingest_points(points)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def _invalid(message, line=None):
        body = {"code": "invalid", "message": message, "detail": message}
        if line is not None:
            body["line"] = line
        return Response(body, status=status.HTTP_400_BAD_REQUEST)

    def handle_exception(self, exc):
        # Influx clients log `message`; the console's clients read `detail`.
        response = super().handle_exception(exc)
        if response.status_code >= 400 and isinstance(response.data, dict) and "message" not in response.data:
            code = {401: "unauthorized", 403: "forbidden", 413: "request too large", 429: "too many requests"}
            message = _message(response.data)
            response.data = {"code": code.get(response.status_code, "invalid"), "message": message, "detail": message}
        return response


def _varint(number):
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _status_protobuf(code, message):
    # google.rpc.Status {int32 code = 1; string message = 2;}, encoded by hand:
    # two fields do not justify the googleapis-common-protos dependency.
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


GRPC_CODES = {400: 3, 401: 16, 403: 7, 413: 3, 415: 3, 429: 8}  # INVALID_ARGUMENT, UNAUTHENTICATED, ...


class OtlpMetricsView(APIView):
    """An OTLP/HTTP metrics receiver: protobuf or JSON in, the same encoding out."""

    # Permission: adding samples, as the JSON ingest endpoint requires (metrics.add_series or staff).
    permission_model = Series
    parser_classes = [OtlpProtobufParser, OtlpJsonParser]

    @extend_schema(
        summary="Export OTLP metrics (ExportMetricsServiceRequest)",
        request={"application/x-protobuf": OpenApiTypes.BINARY, "application/json": OpenApiTypes.OBJECT},
        # Answers come in the request's encoding: ExportMetricsServiceResponse, or google.rpc.Status on an error.
        responses={
            (200, "application/x-protobuf"): OpenApiTypes.BINARY,
            (200, "application/json"): OpenApiTypes.OBJECT,
            (400, "application/x-protobuf"): OpenApiTypes.BINARY,
            (400, "application/json"): OpenApiTypes.OBJECT,
            (415, "application/json"): OpenApiTypes.OBJECT,
        },
    )
    def post(self, request):
        body = request.data
        if not isinstance(body, OtlpBody):  # DRF hands an empty body over as {} without asking a parser
            content_type = request.content_type or ""
            if "protobuf" not in content_type and "json" not in content_type:
                raise UnsupportedMediaType(content_type)
            body = OtlpBody(b"" if "protobuf" in content_type else b"{}", json="protobuf" not in content_type)
        parsed = otlp.to_points(otlp.decode(body.raw, json=body.json))
        ingest_points(parsed.points)
        answer = ExportMetricsServiceResponse()
        if parsed.rejected:
            answer.partial_success.rejected_data_points = parsed.rejected
            answer.partial_success.error_message = "; ".join(parsed.reasons)
        if body.json:
            return HttpResponse(json_format.MessageToJson(answer, indent=None), content_type="application/json")
        return HttpResponse(answer.SerializeToString(), content_type="application/x-protobuf")

    def handle_exception(self, exc):
        if isinstance(exc, InvalidItem | InvalidBody):
            exc = ParseError(str(exc))
        response = super().handle_exception(exc)
        message = _message(response.data)
        code = GRPC_CODES.get(response.status_code, 2)  # 2: UNKNOWN
        # OTLP/HTTP: errors are a google.rpc.Status in the request's encoding.
        if "protobuf" in (self.request.content_type or ""):
            answer = HttpResponse(_status_protobuf(code, message), content_type="application/x-protobuf")
        else:
            answer = HttpResponse(json.dumps({"code": code, "message": message}), content_type="application/json")
        answer.status_code = response.status_code
        for header in ("WWW-Authenticate", "Retry-After"):
            if header in response:
                answer[header] = response[header]
        return answer

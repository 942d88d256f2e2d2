"""How metric bodies are read: JSON, Prometheus and OpenMetrics text, line protocol, OTLP; plain or gzip.

Every parser reads the body through ``read_body``: one size limit, applied
after decompression, and one gzip rule. The non-JSON parsers only decode
bytes; ``metrics.formats`` turns them into points.
"""

import json
import zlib
from typing import NamedTuple

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from opsconsole.parsers import check_strings

MAX_BODY_BYTES = 16 * 1024 * 1024  # 10,000 generous points, decompressed


def read_body(stream, request):
    """The body's bytes, gunzipped when ``Content-Encoding: gzip``; ParseError past MAX_BODY_BYTES."""
    raw = stream.read(MAX_BODY_BYTES + 1) if stream else b""
    if request.META.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
        try:
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = decompressor.decompress(raw, MAX_BODY_BYTES + 1)
        except zlib.error:
            raise ParseError("Content-Encoding is gzip but the body is not valid gzip.") from None
    if len(raw) > MAX_BODY_BYTES:
        raise ParseError(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    return raw


def read_text(stream, request):
    try:
        text = read_body(stream, request).decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError("The body is not valid UTF-8.") from None
    if "\x00" in text:  # Postgres text cannot hold it; no format needs it
        raise ParseError("The body contains a NUL character.")
    return text


class Exposition(NamedTuple):
    """A Prometheus or OpenMetrics text body, for the ingest view to tell from a JSON one."""

    text: str
    openmetrics: bool


class PrometheusTextParser(BaseParser):
    """``text/plain; version=0.0.4``: what Prometheus clients expose and push gateways take."""

    media_type = "text/plain"

    def parse(self, stream, media_type=None, parser_context=None):
        return Exposition(read_text(stream, parser_context["request"]), openmetrics=False)


class OpenMetricsTextParser(BaseParser):
    media_type = "application/openmetrics-text"

    def parse(self, stream, media_type=None, parser_context=None):
        return Exposition(read_text(stream, parser_context["request"]), openmetrics=True)


class LineProtocolParser(BaseParser):
    """Influx line protocol under any content type: Telegraf sends ``text/plain``, curl often none."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return read_text(stream, parser_context["request"])


class OtlpBody(NamedTuple):
    raw: bytes
    json: bool


class OtlpProtobufParser(BaseParser):
    media_type = "application/x-protobuf"

    def parse(self, stream, media_type=None, parser_context=None):
        return OtlpBody(read_body(stream, parser_context["request"]), json=False)


class OtlpJsonParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return OtlpBody(read_body(stream, parser_context["request"]), json=True)


class JSONMaybeGzipParser(BaseParser):
    """JSON bodies, plain or ``Content-Encoding: gzip`` (agents on slow links compress)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = read_body(stream, parser_context["request"])
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

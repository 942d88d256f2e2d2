"""How metric bodies are read: JSON, plain or gzip-compressed, parsed fast and strictly."""

import json
import zlib

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

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

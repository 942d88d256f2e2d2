"""Strict request bodies: a field the API does not know is refused, never ignored (contract, section 5).

DRF drops unknown keys silently, so a rule posted with ``matchers`` instead
of ``tags`` was stored with no tags and matched every host. Every serializer
that reads a request body derives from :class:`StrictSerializer` or
:class:`StrictModelSerializer` (or mixes in :class:`RefuseUnknownFields`):
the body is then refused with 400 ``{"name": ["Unknown field."]}`` for each
unknown key, before anything is stored, and the OpenAPI schema of the body
says ``additionalProperties: false``. ``tests/test_strict_writes.py`` walks
every write operation of the schema, so a serializer that forgets is caught.
"""

from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

UNKNOWN_FIELD = "Unknown field."
READ_ONLY_FIELD = "Read-only field; it cannot be set."


class RefuseUnknownFields:
    """Serializer mixin: each body key that is not a writable field is an error naming it."""

    def _unknown_field_errors(self, data: Any) -> dict[str, list[str]]:
        if not isinstance(data, Mapping):
            return {}  # DRF's own "Invalid data" answers a body that is not an object
        fields = self.fields  # type: ignore[attr-defined]  # a mixin: the serializer has them
        errors = {}
        for name in data:
            field = fields.get(name)
            if field is None:
                errors[str(name)] = [UNKNOWN_FIELD]
            elif field.read_only:
                errors[str(name)] = [READ_ONLY_FIELD]
        return errors

    def to_internal_value(self, data: Any) -> Any:
        unknown = self._unknown_field_errors(data)
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as error:
            # One answer lists every problem: the known fields' and the unknown ones.
            if unknown and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictSerializer(RefuseUnknownFields, serializers.Serializer):
    """A plain serializer for a request body that refuses unknown fields."""


class NoFields(StrictSerializer):
    """The body of an action that takes nothing (a test send, a tick, an early end): empty or ``{}``.

    Anything sent is refused, not ignored.
    """


class StrictModelSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    """A model serializer whose writes refuse unknown (and read-only) fields."""


class StrictBodySchema(OpenApiSerializerExtension):
    """Says in the schema what :class:`RefuseUnknownFields` does: request bodies allow no other keys."""

    target_class = RefuseUnknownFields
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema

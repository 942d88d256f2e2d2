"""The metrics API's query-string rules: times, tags and names, each refused with a field-named 400."""

from datetime import UTC, datetime, timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

from metrics import points as point_rules

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

"""The shapes of the metrics API's bodies and answers, as the OpenAPI schema describes them."""

from rest_framework import serializers

from metrics.models import Series
from opsconsole.strict import StrictSerializer


class SeriesSerializer(serializers.ModelSerializer):
    class Meta:
        model = Series
        fields = ["id", "name", "tags", "unit", "last_value", "last_at", "created_at"]
        read_only_fields = fields


class PointSerializer(StrictSerializer):
    name = serializers.CharField(help_text="letters, digits, _ . : - ; e.g. cpu_percent")
    value = serializers.FloatField()
    timestamp = serializers.CharField(
        required=False, help_text="ISO-8601, or epoch seconds as a number; now when absent."
    )
    tags = serializers.DictField(child=serializers.CharField(), required=False)
    unit = serializers.CharField(required=False, max_length=32, help_text='e.g. "By", "ms", "%"; stored on the series')


class IngestBody(StrictSerializer):
    points = PointSerializer(many=True)


class IngestAccepted(serializers.Serializer):
    accepted = serializers.IntegerField()
    skipped = serializers.IntegerField(required=False, help_text="Text exposition only: NaN or infinite samples.")


class PointError(serializers.Serializer):
    # A JSON body's point has `index` and `field`; a Prometheus text line or sample has `item`.
    index = serializers.IntegerField(required=False)
    field = serializers.CharField(required=False)
    item = serializers.CharField(required=False, help_text='e.g. "line 3" or "sample http_requests_total{code="500"}"')
    message = serializers.CharField()


class IngestRejected(serializers.Serializer):
    detail = serializers.CharField()
    # A field named like Serializer.errors: this class only describes an answer's shape.
    errors = PointError(  # type: ignore[assignment]
        many=True, required=False, help_text="Every bad point, when the body itself was readable."
    )


class SeriesPoints(serializers.Serializer):
    name = serializers.CharField()
    tags = serializers.DictField(child=serializers.CharField())
    unit = serializers.CharField(help_text='The series\' unit as sent ("" if none); with agg=rate, per second ("By/s")')
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

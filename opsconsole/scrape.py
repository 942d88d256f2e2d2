"""``GET /metrics``: the console's own metrics, for Prometheus to scrape (contract, section 7)."""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from metrics.models import Series
from opsconsole import telemetry


@extend_schema(exclude=True)  # Prometheus text, not a JSON resource of the API
class PrometheusMetricsView(APIView):
    """Every process's counts on this host, summed (``opsconsole.telemetry``).

    For a staff user's session or token, or a token whose user holds
    ``metrics.view_series`` (the narrow grant for a scraper): the API's own
    authentication and permission rule, so 401 without credentials and 403
    without the permission, as JSON.
    """

    permission_model = Series
    renderer_classes = [JSONRenderer]  # for the errors; the metrics themselves are plain text

    def perform_content_negotiation(self, request, force=False):
        # A scraper asks for text formats only; those are answered below, not by a renderer.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request):
        body, content_type = telemetry.exposition(request.headers.get("Accept", ""))
        return HttpResponse(body, content_type=content_type)

from django.urls import path

from metrics.api.integrations import OtlpMetricsView
from metrics.api.views import IngestView, LatestView, QueryView, SeriesListView

urlpatterns = [
    path("metrics/ingest/", IngestView.as_view(), name="metrics-ingest"),
    path("metrics/series/", SeriesListView.as_view(), name="metrics-series"),
    path("metrics/query/", QueryView.as_view(), name="metrics-query"),
    path("metrics/latest/", LatestView.as_view(), name="metrics-latest"),
    # OTLP/HTTP's own path under a base URL, so an exporter's `endpoint` is the console's /api/v1/metrics/otlp.
    path("metrics/otlp/v1/metrics", OtlpMetricsView.as_view(), name="metrics-otlp"),
]

from django.urls import path

from metrics.api.views import IngestView, LatestView, QueryView, SeriesListView

urlpatterns = [
    path("metrics/ingest/", IngestView.as_view(), name="metrics-ingest"),
    path("metrics/series/", SeriesListView.as_view(), name="metrics-series"),
    path("metrics/query/", QueryView.as_view(), name="metrics-query"),
    path("metrics/latest/", LatestView.as_view(), name="metrics-latest"),
]

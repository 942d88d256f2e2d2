from django.urls import re_path

from realtime.consumers import AlertsConsumer, MetricsConsumer

websocket_urlpatterns = [
    re_path(r"^ws/alerts/?$", AlertsConsumer.as_asgi()),
    re_path(r"^ws/metrics/?$", MetricsConsumer.as_asgi()),
]

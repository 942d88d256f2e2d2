from channels.security.websocket import WebsocketDenier
from django.urls import re_path

from realtime.consumers import AlertsConsumer, MetricsConsumer, StatusConsumer

websocket_urlpatterns = [
    re_path(r"^ws/alerts/?$", AlertsConsumer.as_asgi()),
    re_path(r"^ws/metrics/?$", MetricsConsumer.as_asgi()),
    re_path(r"^ws/status/?$", StatusConsumer.as_asgi()),
    # Any other path is refused at the handshake (403: daphne cannot answer a
    # WebSocket handshake with 404), not left to the router's "no route" 500.
    re_path(r"", WebsocketDenier.as_asgi()),
]

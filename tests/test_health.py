"""/healthz answers for the database and the channel layer, for real."""

import socket

import pytest
from channels.layers import channel_layers
from django.http import HttpResponse

from opsconsole import health

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fresh_layers():
    """Forget built channel layers (and the probe channel of an old one) so a settings override takes effect."""
    channel_layers.backends = {}
    health._probe_channel = None
    yield
    channel_layers.backends = {}
    health._probe_channel = None


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_healthz_is_200_when_database_and_layer_answer(async_client, fresh_layers):
    response = await async_client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["channel_layer"]["status"] == "ok"


async def test_healthz_is_503_naming_the_layer_when_redis_is_down(async_client, settings, fresh_layers):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{closed_port()}/0"]},
        }
    }
    response = await async_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["channel_layer"]["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"


async def test_healthz_needs_no_login(async_client, fresh_layers):
    response = await async_client.get("/healthz")
    assert response.status_code in (200, 503)
    assert "checks" in response.json()


def test_a_lost_database_is_a_503_json_with_retry_after_on_the_api():
    from django.db import OperationalError
    from django.test import RequestFactory

    from opsconsole.middleware import DatabaseUnavailableMiddleware

    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    response = middleware.process_exception(
        RequestFactory().get("/api/v1/alerts/"), OperationalError("connection refused")
    )
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b"database is unavailable" in response.content
    page = middleware.process_exception(RequestFactory().get("/alerts/"), OperationalError("gone"))
    assert page.status_code == 503 and page["Content-Type"].startswith("text/plain")
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("other")) is None

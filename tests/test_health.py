"""/livez, /readyz and /healthz answer for the database, the channel layer and the heartbeats, for real."""

import socket
import time

import pytest
from channels.layers import channel_layers
from django.http import HttpResponse

from opsconsole import health
from realtime import heartbeat

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fresh_layers():
    """Forget built channel layers (and the probe channel of an old one) so a settings override takes effect."""
    channel_layers.backends = {}
    health._probe_channel = None
    yield
    channel_layers.backends = {}
    health._probe_channel = None


@pytest.fixture
def fresh_heartbeats(settings):
    """In the services shape readiness reads the worker's and beat's heartbeats: record both, as they would."""
    for role in heartbeat.ROLES:
        heartbeat.record_heartbeat(role)
    yield
    for role in heartbeat.ROLES:
        cache_key_gone(role)


def cache_key_gone(role):
    from django.core.cache import cache

    cache.delete(heartbeat._key(role))


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("path", ["/readyz", "/healthz"])
async def test_readiness_is_200_when_database_and_layer_answer(async_client, fresh_layers, fresh_heartbeats, path):
    response = await async_client.get(path)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok" and body["missing"] == []
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["channel_layer"]["status"] == "ok"


async def test_livez_is_200_with_the_channel_layer_gone(async_client, settings, fresh_layers):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{closed_port()}/0"]},
        }
    }
    response = await async_client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_is_503_naming_the_layer_when_redis_is_down(
    async_client, settings, fresh_layers, fresh_heartbeats
):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{closed_port()}/0"]},
        }
    }
    response = await async_client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["missing"] == ["channel_layer"]
    assert body["checks"]["channel_layer"]["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.parametrize("role", heartbeat.ROLES)
async def test_readiness_is_503_naming_a_role_whose_heartbeat_is_stale(
    async_client, settings, fresh_layers, fresh_heartbeats, role
):
    settings.REDIS_URL = settings.REDIS_URL or "redis://services-shape.invalid/0"  # the services shape's checks
    from django.core.cache import cache

    cache.set(heartbeat._key(role), time.time() - heartbeat.STALE_AFTER_SECONDS - 1)
    response = await async_client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body == {**body, "status": "unavailable", "missing": [role]}
    assert "stale after 30 s" in body["checks"][role]["error"]


async def test_readiness_is_503_naming_a_role_that_never_beat(async_client, settings, fresh_layers, fresh_heartbeats):
    settings.REDIS_URL = settings.REDIS_URL or "redis://services-shape.invalid/0"
    cache_key_gone("worker")
    response = await async_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["missing"] == ["worker"]
    assert response.json()["checks"]["worker"]["error"] == "no worker heartbeat recorded"


async def test_the_embedded_shape_asks_for_no_heartbeat(async_client, settings, fresh_layers):
    settings.REDIS_URL = None
    cache_key_gone("worker")
    cache_key_gone("beat")
    response = await async_client.get("/readyz")
    assert set(response.json()["checks"]) == {"database", "channel_layer", "stream"}


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/healthz"])
async def test_probes_answer_whatever_the_host_header_and_over_plain_http_with_https_on(
    async_client, settings, fresh_layers, fresh_heartbeats, path
):
    settings.ALLOWED_HOSTS = ["ops.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = await async_client.get(path, headers={"host": "10.0.0.7:8000"})
    assert response.status_code == 200, response.content
    other = await async_client.get("/login/", headers={"host": "10.0.0.7:8000"})
    assert other.status_code == 400  # everything else still checks the host


async def test_pages_still_redirect_to_https_when_the_probes_do_not(async_client, settings, fresh_layers):
    settings.SECURE_SSL_REDIRECT = True
    response = await async_client.get("/login/")
    assert response.status_code == 301 and response["Location"].startswith("https://")


async def test_readiness_needs_no_login(async_client, fresh_layers):
    response = await async_client.get("/readyz")
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

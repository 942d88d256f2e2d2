"""HTTP requests cross to a thread once, on kept threads one request at a time.

Served processes also tune their collector.
"""

import asyncio
import json
import subprocess
import sys
import threading
import warnings

import pytest
from asgiref import sync as asgiref_sync
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator

from opsconsole.request_threads import ExecutorPool, on_kept_threads
from tests.factories import make_token, make_user
from tests.live import BASE_DIR


@pytest.fixture(autouse=True)
def _pooled_connections_closed():
    """Requests through the router take Postgres connections from the process's pool, which outlives the test."""
    yield
    from django.db import connection

    if hasattr(connection, "close_pool"):
        connection.close_pool()


def recording_application(seen, release=None):
    """An ASGI app that, like Django, makes two thread-sensitive calls per request and records their threads."""

    async def application(scope, receive, send):
        first = await sync_to_async(threading.get_ident)()
        if release is not None:
            await release.wait()
        second = await sync_to_async(threading.get_ident)()
        seen.append((first, second))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return application


async def request(application):
    return await HttpCommunicator(application, "GET", "/").get_response(timeout=5)


async def test_one_requests_thread_sensitive_calls_share_a_thread_that_the_next_request_reuses():
    seen = []
    application = on_kept_threads(recording_application(seen))
    await request(application)
    await request(application)
    (first, second), (third, fourth) = seen
    assert first == second == third == fourth != threading.get_ident()
    assert application.pool.idle == 1


async def test_requests_at_the_same_time_get_threads_of_their_own():
    seen, release = [], asyncio.Event()
    application = on_kept_threads(recording_application(seen, release))
    both = asyncio.gather(request(application), request(application))
    await asyncio.sleep(0.2)
    release.set()
    await both
    (a1, a2), (b1, b2) = seen
    assert a1 == a2 and b1 == b2 and a1 != b1
    assert application.pool.idle == 2


async def test_a_request_cancelled_mid_way_does_not_lend_its_thread_again():
    seen, release = [], asyncio.Event()
    pool = ExecutorPool()
    application = on_kept_threads(recording_application(seen, release), pool)
    communicator = HttpCommunicator(application, "GET", "/")
    await communicator.send_input({"type": "http.request", "body": b""})
    await asyncio.sleep(0.2)
    communicator.future.cancel()
    with pytest.raises(asyncio.CancelledError):
        await communicator.future
    assert pool.idle == 0


async def test_a_request_that_ended_without_its_answer_does_not_lend_its_thread_again():
    # As when Django gives up on a request whose client went away while the view runs on.
    async def unanswered(scope, receive, send):
        await sync_to_async(threading.get_ident)()

    application = on_kept_threads(unanswered)
    communicator = HttpCommunicator(application, "GET", "/")
    await communicator.send_input({"type": "http.request", "body": b""})
    await communicator.wait(timeout=5)
    assert application.pool.idle == 0


def test_only_as_many_idle_threads_are_kept_as_asked():
    pool = ExecutorPool(keep_idle=1)
    first, second = pool.borrow(), pool.borrow()
    pool.give_back(first)
    pool.give_back(second)
    assert pool.idle == 1 and pool.borrow() is first


class CrossingCount:
    """How many times the code under it moves from the event loop to a thread (sync_to_async calls)."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = asgiref_sync.SyncToAsync.__call__
        counter = self

        async def counted(self, *args, **kwargs):
            counter.count += 1
            return await original(self, *args, **kwargs)

        monkeypatch.setattr(asgiref_sync.SyncToAsync, "__call__", counted)


async def through_router(method, path, body=None, headers=()):
    """The router's answer to one request: ``{"status", "headers", "body"}``, streamed bodies joined."""
    from opsconsole.routing import router

    headers = [(b"host", b"localhost"), *headers]
    if body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("localhost", 80),
    }
    communicator = ApplicationCommunicator(router, scope)
    await communicator.send_input({"type": "http.request", "body": body or b""})
    start = await communicator.receive_output(10)
    parts = []
    while True:
        message = await communicator.receive_output(10)
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await communicator.wait(10)  # Django finishes the request after the body is sent
    return {"status": start["status"], "headers": start["headers"], "body": b"".join(parts)}


@pytest.mark.django_db(transaction=True)
async def test_a_rest_write_crosses_from_the_loop_to_a_thread_three_times(monkeypatch):
    # request_started's receivers, the middleware chain with the view, and
    # response.close() with request_finished's: each crossing waits for a
    # loop that also feeds the sockets. Django's async chain made it 19.
    key = (await database_sync_to_async(make_token)(await database_sync_to_async(make_user)(staff=True)))[1]
    body = json.dumps({"source": "web-1", "title": "disk full"}).encode()
    crossings = CrossingCount(monkeypatch)
    response = await through_router("POST", "/api/v1/alerts/", body, [(b"authorization", f"Token {key}".encode())])
    assert response["status"] == 201, response["body"]
    assert crossings.count == 3


# The async view, /healthz, is answered through the router by every live
# console's start-up (tests.live waits for its 200).
@pytest.mark.django_db(transaction=True)
async def test_a_refused_request_is_answered_with_its_json_error_through_the_router():
    refused = await through_router("GET", "/api/v1/alerts/")
    assert refused["status"] == 401 and json.loads(refused["body"])["detail"]


async def test_static_files_are_served_through_the_router_read_in_the_request_s_own_crossing(monkeypatch):
    from django.contrib.staticfiles.storage import staticfiles_storage

    crossings = CrossingCount(monkeypatch)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="StreamingHttpResponse must consume synchronous iterators")
        response = await through_router("GET", staticfiles_storage.url("vendor/echarts/echarts.min.js"))
    assert response["status"] == 200
    assert crossings.count == 3
    assert dict(response["headers"])[b"Content-Type"].startswith(b"text/javascript")
    assert b"echarts" in response["body"][:2000].lower()


@pytest.mark.django_db(transaction=True)
async def test_a_django_request_through_the_router_is_answered_on_a_kept_thread():
    from opsconsole.routing import router

    response = await through_router("GET", "/login/")
    assert response["status"] == 200 and b"<form" in response["body"]
    assert router.application_mapping["http"].pool.idle >= 1


def test_a_served_process_freezes_what_it_loaded_and_collects_its_oldest_objects_rarely():
    code = (
        "import gc, opsconsole.asgi as served; "
        "print(gc.get_threshold() == served.GC_THRESHOLDS, gc.get_freeze_count() > 10000, sys.getswitchinterval())"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import sys; " + code], cwd=BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "0.0005"]

"""HTTP requests run on kept threads, one request at a time per thread, and served processes tune their collector."""

import asyncio
import subprocess
import sys
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator

from opsconsole.request_threads import ExecutorPool, on_kept_threads
from tests.live import BASE_DIR


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


@pytest.mark.django_db(transaction=True)
async def test_a_django_request_through_the_router_is_answered_on_a_kept_thread():
    from opsconsole.routing import router

    communicator = HttpCommunicator(router, "GET", "/login/", headers=[(b"host", b"localhost")])
    response = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)  # Django finishes the request after the body is sent
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

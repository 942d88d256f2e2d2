"""Django's HTTP requests under daphne: in one crossing to a thread, on threads that are kept.

Under daphne the event loop that serves HTTP also feeds every WebSocket,
and each time a request moves between that loop and a thread it waits for
the loop's turn. Django's ASGI handler moves a lot: its middleware chain
runs in async mode, where each ``MiddlewareMixin`` runs ``process_request``
and ``process_response`` through ``sync_to_async``, so a REST write crossed
19 times (counted through ``opsconsole.routing.router``). And asgiref gives
every request a new thread, started on the loop's thread and joined by
another: ~9 % of the loop's time with 1,000 sockets and 50 writes a second
(py-spy, ``bench/load.py``).

So :class:`ThreadedASGIHandler` keeps Django's ASGI handling of the
connection (body, disconnects, streaming the answer) but runs the middleware
and the view as Django runs them under WSGI, in one call to a thread; and
:func:`on_kept_threads` lends each request one of a few kept threads (one
request at a time on each, as Django asks) instead of a new one.
"""

from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler

# Idle threads kept for the next requests; a burst beyond them gets threads
# of its own, which end with their request, as before.
KEEP_IDLE = 16


class ExecutorPool:
    """Single-thread executors for requests, lent one request at a time; used only from the event loop's thread."""

    def __init__(self, keep_idle=KEEP_IDLE):
        self._idle = []
        self._keep_idle = keep_idle

    def borrow(self):
        if self._idle:
            return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def give_back(self, executor):
        if len(self._idle) < self._keep_idle:
            self._idle.append(executor)
        else:
            self.discard(executor)

    def discard(self, executor):
        executor.shutdown(wait=False)  # its thread ends once its work is done

    @property
    def idle(self):
        return len(self._idle)


class ThreadedASGIHandler(ASGIHandler):
    """Django's ASGI handler with a synchronous middleware chain, called in one crossing to a thread."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self._respond, thread_sensitive=True)(request)

    def _respond(self, request):
        # BaseHandler.get_response is the WSGI path: the chain, then the view
        # (an async view, such as /healthz, is run on the loop by Django).
        response = self.get_response(request)
        if response.streaming and not response.is_async:  # type: ignore[attr-defined]  # streaming: has it
            # A synchronous stream (WhiteNoise's files) is read whole by
            # Django's ASGI handler in a crossing of its own, with a warning
            # per process (evansd/whitenoise#531); read here, in this one.
            response.streaming_content = _replayed(list(response.streaming_content))  # type: ignore[attr-defined]
        return response


async def _replayed(parts):
    for part in parts:
        yield part


def django_application():
    """What ``django.core.asgi.get_asgi_application`` gives, with :class:`ThreadedASGIHandler`."""
    django.setup(set_prefix=False)
    return ThreadedASGIHandler()


def on_kept_threads(django_application, pool=None):
    """ASGI middleware: ``django_application``'s HTTP requests on ``pool``'s threads."""
    pool = pool or ExecutorPool()

    async def application(scope, receive, send):
        executor = pool.borrow()
        answered = False

        async def send_watched(message):
            nonlocal answered
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True

        try:
            # Django's own ThreadSensitiveContext inside finds this one and
            # uses it, so every thread-sensitive call of the request runs here.
            async with ThreadSensitiveContext(executor=executor):
                await django_application(scope, receive, send_watched)
        finally:
            # A request that ended without its answer was cut short (the
            # client went away, or it failed): its view may still be running
            # on the thread, since cancelling the coroutine does not stop it,
            # and the next request must not queue behind it.
            if answered:
                pool.give_back(executor)
            else:
                pool.discard(executor)

    application.pool = pool  # type: ignore[attr-defined]  # for tests and the load bench to read
    return application

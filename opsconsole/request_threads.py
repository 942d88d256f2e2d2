"""Django's HTTP requests under ASGI on threads that are kept, not one new thread per request.

Django runs the synchronous part of each request (middleware, views, the
request_finished signal) in a ``ThreadSensitiveContext``, and asgiref gives
each new context a new single-thread executor: a thread started for every
request, on the event loop's thread, and a second thread to join it after.
Under daphne that loop also feeds every WebSocket; with 1,000 sockets and 50
writes a second, starting those threads was ~9 % of its time (py-spy,
``bench/load.py``). Here each request borrows an idle executor, still one
request at a time on one thread as Django asks, and gives it back after.
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext

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

    application.pool = pool
    return application

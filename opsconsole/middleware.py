"""Answers for when the database is away, and the count and time of every request."""

import logging
import time

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.decorators import sync_and_async_middleware
from django.utils.deprecation import MiddlewareMixin

from opsconsole import telemetry
from opsconsole.health import PROBES

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """A lost database connection is a 503 with Retry-After, not a stack trace.

    Load balancers and API clients know to retry a 503; the next request opens
    a fresh connection (connections are health-checked), so service comes
    back by itself when the database does.
    """

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error("Database unavailable for %s %s: %s", request.method, request.path, exception)
        message = "The database is unavailable; try again shortly."
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message}, status=503)
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


@sync_and_async_middleware
def request_metrics(get_response):
    """Count and time every request for GET /metrics, by the name of the URL pattern it matched.

    Named by route, never by raw path: ``/api/v1/alerts/17/`` and
    ``/api/v1/alerts/18/`` are one view, and paths nobody routes (scanners'
    404s) share one label instead of growing a series each. First in the
    chain, so the time includes every other middleware.
    """

    def observe(request, response, started):
        seconds = time.monotonic() - started
        telemetry.observe_request(_view_label(request), request.method, response.status_code, seconds)

    async def async_middleware(request):
        started = time.monotonic()
        response = await get_response(request)
        observe(request, response, started)
        return response

    def sync_middleware(request):
        started = time.monotonic()
        response = get_response(request)
        observe(request, response, started)
        return response

    return async_middleware if iscoroutinefunction(get_response) else sync_middleware


def _view_label(request):
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    if request.path_info in PROBES:
        return request.path_info.lstrip("/")  # answered by ProbeMiddleware, before URL resolution
    if request.path.startswith(settings.STATIC_URL):
        return "static"  # whitenoise answers before any URL is resolved
    return "unmatched"

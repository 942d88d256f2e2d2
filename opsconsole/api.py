"""Conventions every endpoint under /api/v1/ shares: paging and error bodies."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import status
from rest_framework.filters import SearchFilter
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class BoundedSearchFilter(SearchFilter):
    """DRF's ``?search=``, where a term longer than ``MAX_TERM_LENGTH`` characters matches nothing.

    SQLite refuses a LIKE pattern over 50,000 bytes ("LIKE or GLOB pattern
    too complex"), which reached clients of the embedded shape as a 503; at
    4 bytes a character this bound keeps every pattern under it, and both
    shapes answer the same.
    """

    MAX_TERM_LENGTH = 10_000

    def filter_queryset(self, request, queryset, view):
        if any(len(term) > self.MAX_TERM_LENGTH for term in self.get_search_terms(request)):
            return queryset.none()
        return super().filter_queryset(request, queryset, view)


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def exception_handler(exc, context):
    """DRF's handler, with every error body an object carrying ``detail``.

    DRF answers validation errors as a bare list when a serializer raises one
    for the whole body; clients should find the reason in one place.
    """
    # Django's request limits raise exceptions DRF leaves to Django, which
    # answers them with an HTML 400. DRF reads JSON bodies through
    # request.body, so DATA_UPLOAD_MAX_MEMORY_SIZE is the API's body limit.
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent):
        return Response(
            {"detail": f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} query or form parameters."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and not isinstance(response.data, dict):
        # e.g. a search term with a NUL character: Django's form answers a list.
        messages = response.data if isinstance(response.data, list) else [response.data]
        response.data = {"detail": " ".join(str(message) for message in messages)}
    return response


def _is_api(request):
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    from django.views.defaults import page_not_found as html_page_not_found

    return html_page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse(
            {"detail": "Internal server error; the failure is logged on the server."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)


class WallClockTimeSchema(OpenApiSerializerFieldExtension):
    """A time of day (a hand-off, a maintenance window's start) is wall-clock time in a named zone.

    DRF writes it as ``09:00:00`` with no offset, which OpenAPI's ``format:
    time`` (RFC 3339, offset required) would call invalid; the schema says
    what the API answers and accepts instead.
    """

    target_class = "rest_framework.fields.TimeField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$", "example": "09:00"}


# Changes are PATCHes of the fields sent; no PUT, which would have to reset every field left out.
WITHOUT_PUT = ["get", "post", "patch", "delete", "head", "options"]

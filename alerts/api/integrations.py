"""Alert endpoints in other tools' own payloads (contract, section 7).

Thin: ``alerts.integrations`` reads each payload and calls the alert
services; these views authenticate, call it and answer in the shape the
sender expects.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiTokenAuthentication, RoutingKeyAuthentication
from alerts.integrations import alertmanager, pagerduty
from alerts.models import Alert


class AlertmanagerView(APIView):
    """Alertmanager ``webhook_configs`` and Grafana's webhook contact point post here."""

    # Permission: raising alerts, as POST /api/v1/alerts/ requires (alerts.add_alert or staff).
    permission_model = Alert

    @extend_schema(
        summary="Receive an Alertmanager (or Grafana) webhook notification",
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        try:
            notification = alertmanager.parse_notification(request.data)
        except alertmanager.InvalidPayload as error:
            return Response(
                {"detail": f"{error}; nothing was stored.", "errors": [{"item": error.item, "message": error.message}]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(alertmanager.receive_notification(notification))


class PagerDutyView(APIView):
    """A PagerDuty Events API v2 endpoint: clients set this URL and the console's API token as routing key."""

    authentication_classes = [ApiTokenAuthentication, RoutingKeyAuthentication]
    # Permission: raising and changing alerts through events: alerts.add_alert (or staff), as for POST /api/v1/alerts/.
    permission_model = Alert

    @extend_schema(
        summary="Send a PagerDuty Events API v2 event (trigger, acknowledge, resolve)",
        description="The API token may be sent as the body's `routing_key` instead of the Authorization header.",
        request=OpenApiTypes.OBJECT,
        responses={202: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        event = pagerduty.parse_event(request.data)
        pagerduty.receive_event(event)
        return Response(
            {"status": "success", "message": "Event processed", "dedup_key": event.dedup_key},
            status=status.HTTP_202_ACCEPTED,
        )

    def handle_exception(self, exc):
        # PagerDuty's error shape: {"status", "message", "errors"}; `detail` kept for the console's clients.
        if isinstance(exc, pagerduty.InvalidEvent):
            body = {"status": "invalid event", "message": "Event object is invalid", "errors": exc.errors}
            return Response({**body, "detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        response = super().handle_exception(exc)
        if isinstance(response.data, dict) and "status" not in response.data:
            detail = str(response.data.get("detail", response.data))
            names = {400: "invalid event", 401: "unauthorized", 403: "forbidden", 429: "throttle event"}
            response.data = {
                "status": names.get(response.status_code, "error"),
                "message": detail,
                "errors": [detail],
                "detail": detail,
            }
        return response

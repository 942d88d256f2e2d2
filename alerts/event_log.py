"""Answering ``resume`` on ``/ws/alerts`` from the event log when the replay buffer cannot.

The buffer lives in Redis; the event log lives in the database with every
change it reports. After Redis restarts empty, or while a publish could not
reach it, the log still knows which alerts and incidents changed, so a
resuming client is sent each one's current state, in the order of its last
change: what it would have if it had heard every event.
"""

from typing import Any

from alerts.models import Alert, AlertEvent, EventKind
from alerts.payloads import AlertDict, IncidentDict, alert_data, incident_payloads
from alerts.services import deleted_data, is_pushed
from realtime.envelope import envelope

# More changed rows than this is a reload, not a replay.
MAX_LOG_ROWS = 20_000
REPLAYED_FROM = "event_log"


def changes_since(moment):
    """``alert``, ``alert_deleted`` and ``incident`` events for everything the log shows changed since ``moment``.

    None when the log holds more than ``MAX_LOG_ROWS`` rows since then: the
    client is better served by reloading. A deleted alert is told as
    ``alert_deleted``; alerts a silence keeps quiet are left out.
    """
    rows = list(
        AlertEvent.objects.filter(at__gte=moment)
        .order_by("id")
        .values_list("id", "kind", "alert_id", "incident_id")[: MAX_LOG_ROWS + 1]
    )
    if len(rows) > MAX_LOG_ROWS:
        return None
    last_alert_change, last_incident_change = {}, {}  # id -> (log row id, kind), the later row winning
    for row_id, kind, alert_id, incident_id in rows:
        if alert_id is not None:  # an alert's own change, or its attachment to an incident
            last_alert_change[alert_id] = (row_id, kind)
        if incident_id is not None and kind.startswith("incident."):
            last_incident_change[incident_id] = (row_id, kind)
    alerts = Alert.objects.in_bulk(list(last_alert_change))
    changes: list[tuple[int, str, AlertDict | IncidentDict | dict[str, Any]]] = [
        (last_alert_change[pk][0], "alert", alert_data(alert))
        for pk, alert in alerts.items()
        if is_pushed(alert, last_alert_change[pk][1])
    ]
    # An alert gone since then is told as its deletion, so the client drops its row.
    gone = {
        pk: row_id
        for pk, (row_id, kind) in last_alert_change.items()
        if pk not in alerts and kind == EventKind.ALERT_DELETED
    }
    fingerprints = dict(AlertEvent.objects.filter(id__in=list(gone.values())).values_list("alert_id", "data"))
    changes += [
        (row_id, "alert_deleted", deleted_data(pk, fingerprints.get(pk, {}).get("fingerprint", "")))
        for pk, row_id in gone.items()
    ]
    changes += [
        (last_incident_change[pk][0], "incident", payload)
        for pk, payload in incident_payloads(list(last_incident_change)).items()
    ]
    changes.sort(key=lambda change: change[0])
    return [envelope(type_, data, meta={"replayed_from": REPLAYED_FROM}) for _, type_, data in changes]

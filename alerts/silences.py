"""Silences seen from the on-call side: which alerts a set of matchers catches, ending one early."""

from collections.abc import Mapping

from django.utils import timezone

from alerts.config_audit import save_audited
from alerts.models import Alert, AlertStatus, Silence
from alerts.payloads import AlertDict, alert_data

PREVIEW_LIMIT = 100


class SilenceEnded(Exception):
    """Expiring a silence that has already ended; the API answers 409."""


def catches(matchers: Mapping[str, str], labels: Mapping[str, object]) -> bool:
    """The silence rule (``alerts.services.is_silenced``): every matcher present, exactly, in the labels."""
    return all(labels.get(key) == value for key, value in matchers.items())


def caught_alerts(matchers: Mapping[str, str]) -> tuple[int, list[AlertDict]]:
    """The unresolved alerts ``matchers`` would silence now: their count and the newest PREVIEW_LIMIT.

    Labels are JSON, which SQLite cannot query by containment, so the
    unresolved alerts (the few an on-call team has open) are matched here.
    """
    unresolved = Alert.objects.exclude(status=AlertStatus.RESOLVED).order_by("-last_seen_at", "-id")
    caught = [alert for alert in unresolved.iterator(chunk_size=500) if catches(matchers, alert.labels)]
    return len(caught), [alert_data(alert) for alert in caught[:PREVIEW_LIMIT]]


def expire_silence(silence_id: int, actor: str) -> Silence:
    """End a silence now, audited; its alerts fire again on the next silence pass (``apply_silences``).

    An upcoming silence ends before it starts: its span is set to [now, now],
    which is never active. One that has ended already raises SilenceEnded.
    """
    silence = Silence.objects.get(pk=silence_id)
    now = timezone.now()
    if silence.ends_at <= now:
        raise SilenceEnded(f"This silence ended at {silence.ends_at.isoformat()}.")

    def end_now() -> Silence:
        silence.ends_at = now
        silence.starts_at = min(silence.starts_at, now)
        silence.save(update_fields=["starts_at", "ends_at"])
        return silence

    save_audited(actor, end_now, silence)
    return silence

"""Who changed the alerting configuration, when, and from what to what.

Rules, silences and notification channels decide who is paged; a change to
one must be traceable. Every create, change and delete, from the REST API
or the admin, calls :func:`record_config_change` in the same transaction as
the write, so the audit line and the change commit together or not at all.
Each line is also pushed on ``/ws/status`` as a ``config`` event once it
commits (``config_data``), and that topic's resume reads this log.
"""

from collections.abc import Callable, Collection
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction

from alerts.models import ConfigChange
from realtime.publish import record_event
from realtime.topics import STATUS

# Values never copied into the audit: it is readable by every admin user.
REDACTED_FIELDS = frozenset({"secret", "password", "token"})
REDACTED = "(redacted)"
# Bookkeeping that changes on every save and says nothing about the configuration.
UNAUDITED_FIELDS = frozenset({"updated_at"})


def config_snapshot(obj: models.Model, redact: Collection[str] = REDACTED_FIELDS) -> dict[str, Any]:
    """``obj``'s stored fields as JSON values, with the ``redact`` ones (when set) replaced by a marker."""
    encoder = DjangoJSONEncoder()
    snapshot: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in UNAUDITED_FIELDS:
            continue
        value = getattr(obj, field.attname)
        if field.name in redact and value:
            value = REDACTED
        elif value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
            value = encoder.default(value)  # datetimes, decimals, UUIDs as the API writes them
        snapshot[field.name] = value
    return snapshot


def record_config_change(
    actor: str, obj: models.Model, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> ConfigChange | None:
    """Append one audit line: ``before`` None is a creation, ``after`` None a deletion.

    ``before`` and ``after`` are :func:`config_snapshot` dicts taken around
    the write; a change that changed nothing is not recorded (None). Call it
    inside the write's transaction.
    """
    if before is None and after is None:
        raise ValueError("A configuration change needs a before or an after.")
    if before == after:
        return None
    if before is None:
        action = ConfigChange.Action.CREATED
    elif after is None:
        action = ConfigChange.Action.DELETED
    else:
        action = ConfigChange.Action.CHANGED
    change = ConfigChange.objects.create(
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk if obj.pk is not None else (before or {}).get("id", "")),
        object_repr=str(obj)[:200],
        before=before,
        after=after,
    )
    record_event(STATUS, "config", config_data(change))
    return change


# What a ``config`` event calls each audited model; another model is called by its model name.
OBJECT_NAMES = {
    "alerts.alertrule": "rule",
    "alerts.silence": "silence",
    "alerts.notificationchannel": "channel",
    "alerts.runbook": "runbook",
    "runbooks.runbook": "runbook",
}


def config_data(change: ConfigChange) -> dict[str, Any]:
    """The ``config`` event's data for one audit line (contract section 8)."""
    return {
        "action": change.action,
        "object": OBJECT_NAMES.get(change.object_type, change.object_type.rsplit(".", 1)[-1]),
        "id": change.object_id,
        "name": change.object_repr,
        "old_values": change.before,
        "new_values": change.after,
        "updated_by": change.actor,
        "at": change.at.isoformat(),
    }


def save_audited(actor: str, save: Callable[[], models.Model], instance: models.Model | None = None) -> models.Model:
    """Run ``save`` (which creates or changes an object and returns it) and record the change, in one transaction.

    ``instance`` is the object being changed, None for a creation; its
    stored row is read (and locked) before the write, so ``before`` is what
    the database held even when a form has already changed ``instance``.
    """
    with transaction.atomic():
        before = None
        if instance is not None and instance.pk is not None:
            stored = type(instance)._default_manager.select_for_update().filter(pk=instance.pk).first()
            before = config_snapshot(stored) if stored is not None else None
        saved = save()
        record_config_change(actor, saved, before, config_snapshot(saved))
    return saved


def delete_audited(actor: str, instance: models.Model) -> None:
    """Delete ``instance`` and record it, in one transaction."""
    with transaction.atomic():
        record_config_change(actor, instance, config_snapshot(instance), None)
        instance.delete()

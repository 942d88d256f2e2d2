"""Contact methods and personal notification rules: how a person is reached when paged.

A contact method is a personal :class:`~alerts.models.NotificationChannel`
(``personal`` true), so every page and resolution goes through the one
sender with its order, retries, leases and delivery log; routing skips
personal channels, and the channels API does not list them.
"""

from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Max

from alerts.models import Delivery, NotificationChannel
from alerts.notifications.queue import queue_test
from oncall.models import ContactMethod, NotificationRule


def _channel_name(user: Any, label: str) -> str:
    return f"@{user.get_username()} {label}"[:100]


@transaction.atomic
def add_contact_method(user: Any, label: str, kind: str, url: str = "", emails: str = "") -> ContactMethod:
    """A new contact method for ``user`` and its personal channel; valid targets are the caller's check."""
    channel = NotificationChannel.objects.create(
        name=_channel_name(user, label), kind=kind, url=url, emails=emails, personal=True
    )
    return ContactMethod.objects.create(user=user, label=label, channel=channel)


@transaction.atomic
def change_contact_method(method: ContactMethod, **fields: Any) -> ContactMethod:
    """Change the label, kind, URL or addresses (``fields``) of a contact method."""
    channel = method.channel
    if "label" in fields:
        method.label = fields.pop("label")
        method.save(update_fields=["label"])
        channel.name = _channel_name(method.user, method.label)
    for name, value in fields.items():
        setattr(channel, name, value)
    channel.save()
    return method


@transaction.atomic
def delete_contact_method(method: ContactMethod) -> None:
    """Delete the method, its rules and its channel (with that channel's delivery log)."""
    method.channel.delete()  # cascades to the method and its rules


def send_test(method: ContactMethod, actor: str) -> Delivery:
    """Queue a test notification to this contact method (the channels' own test)."""
    return queue_test(method.channel, actor)


def rules_for(user_id: int, severity: str, rules: list[NotificationRule]) -> list[NotificationRule]:
    """The user's rules for ``severity``, soonest first, from an already-read list of rules."""
    return sorted(
        (rule for rule in rules if rule.user_id == user_id and rule.severity == severity),
        key=lambda rule: (rule.delay_minutes, rule.pk),
    )


def shown_target(method: ContactMethod) -> str:
    """Where the method sends, as a page may show it once saved: addresses in full, URLs without their secrets.

    Apprise URLs carry their tokens anywhere after the scheme, webhooks in the
    path or query, so only the scheme (and a webhook's host) is shown.
    """
    channel = method.channel
    if channel.kind == NotificationChannel.Kind.EMAIL:
        return channel.emails
    parts = urlsplit(channel.url)
    if channel.kind == NotificationChannel.Kind.WEBHOOK and parts.hostname:
        hidden = "/…" if (parts.path.strip("/") or parts.query) else ""
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{hidden}"
    return f"{parts.scheme}://…" if parts.scheme else "…"


def last_tests(methods: list[ContactMethod]) -> dict[int, Delivery]:
    """Each method's latest test delivery, by method id (one query)."""
    by_channel = {method.channel_id: method.pk for method in methods}
    tests = Delivery.objects.filter(channel_id__in=by_channel, event="test").order_by()
    newest = tests.values("channel_id").annotate(newest=Max("id")).values("newest")
    return {by_channel[delivery.channel_id]: delivery for delivery in Delivery.objects.filter(pk__in=newest)}

"""Telling people: webhooks, e-mail and Apprise channels for alert changes, in order, retried, logged.

``queue`` decides who hears of a change (in the change's transaction),
``dispatch`` sends, ``webhook``/``email``/``chat`` speak to receivers,
``targets`` says where sends may go, ``render`` writes the words.
"""

from alerts.notifications.dispatch import deliver_notifications, dispatch_notifications
from alerts.notifications.queue import queue_for, queue_repeats

__all__ = ["deliver_notifications", "dispatch_notifications", "queue_for", "queue_repeats"]

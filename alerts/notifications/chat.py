"""Apprise sends: one URL reaches Slack, Teams, Telegram, Discord, Mattermost, ntfy, PagerDuty and more."""

from typing import Any

from alerts.notifications.render import render
from alerts.notifications.targets import SendError


def _notify_type(payload: dict[str, Any]) -> Any:  # an apprise.NotifyType
    import apprise

    event, severity = payload["event"], payload["alert"].get("severity")
    if event in ("alert.resolved", "settled") and payload["alert"].get("status") == "resolved":
        return apprise.NotifyType.SUCCESS
    if event in ("alert.acknowledged", "test") or severity == "info":
        return apprise.NotifyType.INFO
    return apprise.NotifyType.FAILURE if severity == "critical" else apprise.NotifyType.WARNING


def send_apprise(url: str, payload: dict[str, Any], timeout: float) -> None:
    import apprise

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise SendError("Apprise does not understand the channel's URL.", retry=False)
    plugin.socket_connect_timeout = timeout
    plugin.socket_read_timeout = timeout
    message = render(payload)
    sender = apprise.Apprise()
    sender.add(plugin)
    if not sender.notify(title=message.subject, body=message.details, notify_type=_notify_type(payload)):
        raise SendError("The Apprise service did not take the message (see the worker log).", retry=True)

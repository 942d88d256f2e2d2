"""iCal feeds of shifts, authenticated by a secret key in their URL.

Calendar apps (Google, Apple, Outlook, Thunderbird) fetch a subscribed URL
with no headers, so the URL carries the credential: ``/oncall/feeds/<key>.ics``.
The key is shown once, when the feed is made; the database keeps its prefix
(to find the row) and its SHA-256 hash, as ``accounts.tokens`` does for API
tokens. Keys have the API keys' shape (``oc_<prefix>_<secret>``), so the
access log redacts them from the path; an API token they are not (their
prefix is no token's). Deleting the feed revokes it.
"""

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from icalendar import Calendar, Event

from accounts.key_format import KEY_SCHEME, PREFIX_BYTES, PREFIX_LENGTH, SECRET_BYTES
from accounts.tokens import hash_key
from oncall.models import CalendarFeed, Schedule
from oncall.schedules import calendar, with_layers

PAST = timedelta(days=14)
AHEAD = timedelta(days=90)


def make_feed(*, schedule: Schedule | None = None, user: Any = None, actor: str) -> tuple[CalendarFeed, str]:
    """A new feed of ``schedule`` or of ``user``'s shifts, and its key (which nothing keeps)."""
    prefix = secrets.token_urlsafe(PREFIX_BYTES)
    key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    feed = CalendarFeed.objects.create(
        schedule=schedule, user=user, prefix=prefix, key_hash=hash_key(key), created_by=actor
    )
    return feed, key


def feed_for_key(key: str) -> CalendarFeed | None:
    scheme, _, rest = key.partition("_")
    if scheme != KEY_SCHEME or len(rest) < PREFIX_LENGTH + 2 or rest[PREFIX_LENGTH] != "_":
        return None
    feed = CalendarFeed.objects.select_related("schedule", "user").filter(prefix=rest[:PREFIX_LENGTH]).first()
    if feed is None or not hmac.compare_digest(feed.key_hash, hash_key(key)):
        return None
    return feed


def feed_shifts(feed: CalendarFeed, now: datetime | None = None) -> list[dict[str, Any]]:
    """The shifts the feed lists: two weeks back to 90 days ahead."""
    now = now or timezone.now()
    if feed.schedule_id is not None:
        return calendar(with_layers(Schedule.objects.filter(pk=feed.schedule_id)), now - PAST, now + AHEAD)
    return calendar(with_layers(Schedule.objects.all()), now - PAST, now + AHEAD, user_id=feed.user_id)


def ical(feed: CalendarFeed, now: datetime | None = None) -> bytes:
    """The feed as an iCalendar document: one event per shift, stable UIDs so updates replace, not add."""
    cal = Calendar()
    cal.add("prodid", "-//opsconsole//on call//EN")
    cal.add("version", "2.0")
    owner = feed.user.get_username() if feed.user is not None else ""
    title = feed.schedule.name if feed.schedule is not None else f"On call: {owner}"
    cal.add("x-wr-calname", title)
    stamp = timezone.now()
    for shift in feed_shifts(feed, now):
        event = Event()
        event.add("uid", f"oncall-{shift['schedule']}-{shift['user']}-{int(shift['start'].timestamp())}@opsconsole")
        event.add("dtstamp", stamp)
        event.add("dtstart", shift["start"])
        event.add("dtend", shift["end"])
        event.add("summary", f"{shift['username']} on call ({shift['schedule_name']})")
        cal.add_component(event)
    return cal.to_ical()

"""Which runbooks an alert's labels call for, answered from memory.

Every alert the API or a socket shows lists its runbooks, and an alert write
renders the alert at least twice, so the runbooks are not read per alert:
each process keeps the runbooks, filed by one of their matchers, and matches
in Python: an alert is checked only against the runbooks filed under one of
its labels.
Its own writes drop the list at once (a signal, see ``runbooks.apps``);
another process's copy is read again at most ``CACHE_SECONDS`` later.
"""

import threading
import time
from collections.abc import Mapping
from typing import Any, NamedTuple, TypedDict
from urllib.parse import urlsplit

from django.urls import reverse

# How stale another process's list of runbooks may be.
CACHE_SECONDS = 5.0
# The label the Alertmanager integration keeps a ``runbook_url`` annotation in.
RUNBOOK_URL_LABEL = "runbook_url"
RUNBOOK_URL_TITLE = "Runbook"


class RunbookLink(TypedDict):
    id: int | None
    title: str
    url: str


class _Entry(NamedTuple):
    order: int  # position by title, then id: the order alerts list their runbooks in
    id: int
    title: str
    url: str
    matchers: dict[str, Any]


class _Index(NamedTuple):
    # Each runbook filed under one of its matchers: an alert looks up only the
    # runbooks filed under one of its own labels, not every runbook.
    by_label: dict[tuple[str, Any], list[_Entry]]
    unfiled: list[_Entry]  # a matcher value that cannot be a dict key (the admin takes any JSON)


_lock = threading.Lock()
_cached: _Index | None = None
_loaded_at = 0.0


def forget_runbooks(**_kwargs: object) -> None:
    """Drop this process's list; the next match reads the runbooks again."""
    global _cached
    with _lock:
        _cached = None


def _index() -> _Index:
    global _cached, _loaded_at
    cached = _cached
    if cached is not None and time.monotonic() - _loaded_at < CACHE_SECONDS:
        return cached
    from runbooks.models import Runbook

    rows = Runbook.objects.order_by("title", "id").values_list("id", "title", "matchers")
    fresh = _Index({}, [])
    for order, (pk, title, matchers) in enumerate(rows):
        if not isinstance(matchers, dict) or not matchers:
            continue  # no matchers: applies to no alert
        entry = _Entry(order, pk, title, runbook_url(pk), matchers)
        first = next(iter(matchers.items()))
        try:
            fresh.by_label.setdefault(first, []).append(entry)
        except TypeError:
            fresh.unfiled.append(entry)
    with _lock:
        _cached, _loaded_at = fresh, time.monotonic()
    return fresh


def runbook_url(runbook_id: int) -> str:
    return reverse("runbook-detail", args=[runbook_id])


def applies(matchers: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """The one rule: every matcher is a label of the alert, with the same value; no matchers match nothing."""
    return bool(matchers) and all(key in labels and labels[key] == value for key, value in matchers.items())


def _safe_link(url: object) -> bool:
    # A label is whatever a sender wrote: only web links become links.
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def runbook_links(labels: Mapping[str, Any]) -> list[RunbookLink]:
    """The runbooks whose matchers ``labels`` contain (by title), then the alert's own ``runbook_url`` label."""
    index = _index()
    candidates = list(index.unfiled)
    for item in labels.items():
        try:
            candidates += index.by_label.get(item, ())
        except TypeError:  # a label value that cannot be a key matches no filed runbook
            continue
    matched = sorted((entry for entry in candidates if applies(entry.matchers, labels)), key=lambda e: e.order)
    links: list[RunbookLink] = [{"id": entry.id, "title": entry.title, "url": entry.url} for entry in matched]
    external = labels.get(RUNBOOK_URL_LABEL)
    if _safe_link(external):
        links.append({"id": None, "title": RUNBOOK_URL_TITLE, "url": str(external)})
    return links

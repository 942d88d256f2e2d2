"""Issuing, checking and revoking API tokens: the one place their rules live."""

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.credentials import token_revoked
from accounts.key_format import KEY_SCHEME, PREFIX_BYTES, PREFIX_LENGTH, SECRET_BYTES
from accounts.models import ApiToken

LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


DURATION_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_lifetime(text: str) -> timedelta:
    """``30m``, ``12h``, ``90d`` or ``52w`` as a timedelta; ValueError saying what is accepted otherwise."""
    match = re.fullmatch(r"\s*([1-9][0-9]{0,5})\s*([mhdw])\s*", text)
    if match is None:
        raise ValueError(f"{text!r} is not a lifetime: give a whole number and a unit, m, h, d or w (e.g. 90d)")
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


def give_key(token: ApiToken) -> str:
    """Give the unsaved ``token`` a new key (its prefix and hash) and return the key, which nothing keeps."""
    token.prefix = secrets.token_urlsafe(PREFIX_BYTES)
    key = f"{KEY_SCHEME}_{token.prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    token.key_hash = hash_key(key)
    return key


def issue_token(user: Any, name: str = "", expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user`` and return ``(token, key)``.

    The key is returned only here; the database keeps its prefix and hash.
    """
    token = ApiToken(user=user, name=name, expires_at=expires_at)
    key = give_key(token)
    token.save()
    return token, key


def split_key(key: str) -> str | None:
    """The prefix of a well-formed key, or None."""
    scheme, sep, rest = key.partition("_")
    # The secret part may itself contain "_" (url-safe base64), the prefix too,
    # so the prefix is taken by its fixed length.
    if scheme != KEY_SCHEME or not sep or len(rest) < PREFIX_LENGTH + 2 or rest[PREFIX_LENGTH] != "_":
        return None
    return rest[:PREFIX_LENGTH]


def authenticate_key(key: str) -> ApiToken | None:
    """The active token whose key this is, or None; records when it was last used."""
    prefix = split_key(key)
    if prefix is None:
        return None
    try:
        # get(), not first(): the prefix is unique, and first() would add an
        # ORDER BY (the model's ordering) to a lookup every request makes.
        token = ApiToken.objects.select_related("user").get(prefix=prefix)
    except ApiToken.DoesNotExist:
        return None
    if not hmac.compare_digest(token.key_hash, hash_key(key)):
        return None
    if not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        # At most one write a minute per token: a busy agent must not turn
        # every read into a write.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def revoke(token: ApiToken) -> bool:
    """Revoke ``token``; idempotent (the first revocation time is kept).

    Once committed, the sockets opened with it close on every web process.
    """
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if updated:
            token_revoked.send(ApiToken, token=token)
    token.refresh_from_db(fields=["revoked_at"])
    return bool(updated)


def key_from_authorization(header: str) -> str | None:
    """The key in an ``Authorization: Token <key>`` or ``Bearer <key>`` header, or None."""
    if not header:
        return None
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() not in ("token", "bearer") or not key.strip():
        return None
    return key.strip()


FAILED_ATTEMPTS_PER_MINUTE = 30


def _failures_key(client_address: str) -> str:
    return f"token-failures:{client_address}"


def too_many_failures(client_address: str) -> int:
    """Seconds to wait when this address guessed wrong too often in the last minute, else 0.

    Keys are 256-bit and cannot be guessed; the limit keeps a broken or
    hostile script from hammering the database with lookups all the same.
    """
    return 60 if cache.get(_failures_key(client_address), 0) >= FAILED_ATTEMPTS_PER_MINUTE else 0


def record_failure(client_address: str) -> None:
    key = _failures_key(client_address)
    cache.add(key, 0, timeout=60)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=60)

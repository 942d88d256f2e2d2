"""Whether the credentials an open socket was let in with still hold, and announcing when they stop.

The handshake's rules (realtime/auth.py) are applied again to sockets
already open: by the signals below the moment a credential ends, and by the
periodic re-check of :mod:`realtime.access` for whatever an announcement
missed (a session that expired, a lost message, a password change).
"""

from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user, get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from accounts.models import ApiToken
from realtime import protocol
from realtime.access import Ending, Principal, announce_end

DEACTIVATED = Ending(protocol.CLOSE_AUTHENTICATION_FAILED, "This account was deactivated or removed; sign in again.")
NOT_STAFF = Ending(protocol.CLOSE_PERMISSION_DENIED, "This account is no longer staff: the streams are for staff.")
TOKEN_ENDED = Ending(protocol.CLOSE_AUTHENTICATION_FAILED, "This API token was revoked or has expired.")
SESSION_ENDED = Ending(
    protocol.CLOSE_AUTHENTICATION_FAILED, "This session ended (signed out or expired); sign in again."
)

# Sent by accounts.tokens.revoke, which updates the row without a save.
token_revoked = Signal()  # sender: ApiToken, token


def user_ending(user) -> Ending | None:
    """Why ``user`` may no longer hold a socket, or None."""
    if user is None or not user.is_active:
        return DEACTIVATED
    if not user.is_staff:
        return NOT_STAFF
    return None


def endings_for(principals: set[Principal]) -> dict[Principal, Ending]:
    """The principals among ``principals`` whose access has ended, with why; a few queries for all of them."""
    users = get_user_model().objects.in_bulk({principal.user_id for principal in principals})
    token_ids = {principal.token_id for principal in principals if principal.token_id is not None}
    tokens = ApiToken.objects.in_bulk(token_ids)
    session_users = {
        key: _session_user_id(key) for key in {p.session_key for p in principals if p.session_key is not None}
    }
    endings = {}
    for principal in principals:
        ending = user_ending(users.get(principal.user_id))
        if ending is None and principal.token_id is not None:
            token = tokens.get(principal.token_id)
            if token is None or not token.is_active:
                ending = TOKEN_ENDED
        session_key = principal.session_key
        if ending is None and session_key is not None and session_users[session_key] != principal.user_id:
            ending = SESSION_ENDED
        if ending is not None:
            endings[principal] = ending
    return endings


def _session_user_id(session_key: str) -> int | None:
    """Whom the session still signs in, by Django's own rules (expiry, password change), or None."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    user = get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]  # all get_user reads of a request
    return user.pk if user.is_authenticated else None


@receiver(token_revoked)
@receiver(post_delete, sender=ApiToken)
def _token_ended(sender, instance=None, token=None, **kwargs):
    token = token or instance
    announce_end(close_code=TOKEN_ENDED.close_code, message=TOKEN_ENDED.message, token=token.pk)


@receiver(post_save, sender=ApiToken)
def _token_saved(sender, instance, created, **kwargs):
    if not instance.is_active:
        _token_ended(sender, token=instance)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def _user_saved(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and set(update_fields) <= {"last_login", "password"}:
        return  # a login, or a password upgrade by the hasher: nothing about who may connect
    ending = user_ending(instance)
    if ending is not None:
        announce_end(close_code=ending.close_code, message=ending.message, user=instance.pk)


@receiver(post_delete, sender=settings.AUTH_USER_MODEL)
def _user_deleted(sender, instance, **kwargs):
    announce_end(close_code=DEACTIVATED.close_code, message=DEACTIVATED.message, user=instance.pk)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        announce_end(close_code=SESSION_ENDED.close_code, message=SESSION_ENDED.message, session=session_key)

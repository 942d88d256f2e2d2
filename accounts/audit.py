"""One audit line per login event: who, from where, what happened; never a password.

The lines go to the ``opsconsole.audit`` logger, so an operator can route
them apart from the application's log. Addresses are the real client's
(:mod:`opsconsole.client_address`); a username that failed is written as
typed, quoted, because it is input from anybody.
"""

import logging

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

logger = logging.getLogger("opsconsole.audit")


def _address(request) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def _path(request) -> str:
    return request.path if request is not None else ""


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    logger.info("login succeeded user=%s address=%s path=%s", user.get_username(), _address(request), _path(request))


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password in `credentials` with stars; only the username is read.
    username = credentials.get("username", "")
    logger.warning("login failed username=%r address=%s path=%s", username, _address(request), _path(request))


@receiver(user_locked_out)
def _locked_out(sender, request, username, ip_address, **kwargs):
    logger.warning("login locked out username=%r address=%s path=%s", username, ip_address, _path(request))


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    name = user.get_username() if user is not None else ""
    logger.info("logout user=%s address=%s", name, _address(request))

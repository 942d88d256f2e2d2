"""What a web process does to stay up under too many connections, before it serves anything.

Both ``manage.py serve`` and the ``daphne`` command import
``opsconsole.asgi``, which calls :func:`apply`, so the two behave alike:

- the soft open-file limit is raised to the hard one: the common default of
  1,024 lets one client holding half-open requests take every descriptor;
- a connection that has not finished sending a request within
  ``OPSCONSOLE_HTTP_IDLE_TIMEOUT`` seconds is closed (Twisted's default is
  12 hours). Requests being answered and open WebSockets are not idle in
  this sense: Twisted stops the clock while a request is handled.
"""

import logging
import resource

from django.conf import settings

logger = logging.getLogger(__name__)


def raise_open_file_limit() -> None:
    """Set the soft limit of open files to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as error:  # e.g. an unlimited hard limit the kernel refuses
            logger.warning("could not raise the open-file limit from %s to %s: %s", soft, hard, error)
            return
        logger.info("open-file limit raised from %s to %s", soft, hard)


def close_idle_http_connections(seconds: int) -> None:
    """Give every HTTP connection daphne makes from now on an idle timeout of ``seconds``."""
    import daphne.server
    from daphne.http_protocol import HTTPFactory

    class IdleTimeoutHTTPFactory(HTTPFactory):
        def __init__(self, server: object) -> None:
            super().__init__(server)
            self.timeOut = seconds

    # Server.run builds its factory from this module-level name (docs/internals.md, "daphne-http-factory").
    daphne.server.HTTPFactory = IdleTimeoutHTTPFactory


def apply() -> None:
    raise_open_file_limit()
    close_idle_http_connections(settings.OPSCONSOLE_HTTP_IDLE_TIMEOUT)

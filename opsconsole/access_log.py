"""One access line per request, with credentials taken out of what it records.

``AccessLogMiddleware`` writes ``opsconsole.access`` lines: method, path,
status, duration, who (user name, or the token's prefix) and the client's
address. A query parameter that looks like a credential, or a value shaped
like one of our keys, is written as ``REDACTED``: people paste tokens into
URLs, and logs are read by more people than the tokens were meant for.
Daphne's own access log (the ``daphne`` command writes one) gets the same
redaction, and leaves HTTP requests to this middleware.
"""

import logging
import re
import time
from urllib.parse import parse_qsl, urlencode

from accounts.key_format import KEY_SHAPED

logger = logging.getLogger("opsconsole.access")

# A parameter is a credential when one word of its name is one of these
# (``api_key``, ``X-Amz-Signature``, ``sessionid``), or it mentions a token,
# secret or password anywhere (``accesstoken``).
CREDENTIAL_WORDS = {"key", "apikey", "auth", "authorization", "sig", "signature", "session", "sessionid", "code", "pwd"}
CREDENTIAL_PARTS = re.compile(r"token|secret|passw|credential", re.IGNORECASE)
REDACTED = "REDACTED"


def _is_credential(name: str, value: str) -> bool:
    words = {word.lower() for word in re.split(r"[^A-Za-z0-9]+", name)}
    return bool(words & CREDENTIAL_WORDS or CREDENTIAL_PARTS.search(name) or KEY_SHAPED.search(value))


def redact_query(query: str) -> str:
    """``query`` (no ``?``) with the values of credential-like parameters replaced."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    cleaned = [(name, REDACTED if _is_credential(name, value) else value) for name, value in pairs]
    return urlencode(cleaned, safe="/:,")


def redact_url(url: str) -> str:
    """A path with its query redacted, and any key-shaped text in the path itself too."""
    path, mark, query = url.partition("?")
    path = KEY_SHAPED.sub(REDACTED, path)
    return f"{path}{mark}{redact_query(query)}" if mark else path


def _who(request) -> str:
    token = getattr(request, "auth", None)
    if token is not None and hasattr(token, "prefix"):
        return f"token:{token.prefix}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user.get_username()
    return "-"


class AccessLogMiddleware:
    """First in the chain, so the duration covers every other middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        query = request.META.get("QUERY_STRING", "")
        logger.info(
            "%s %s %s %.1fms user=%s address=%s",
            request.method,
            redact_url(f"{request.path}?{query}" if query else request.path),
            response.status_code,
            (time.perf_counter() - started) * 1000,
            _who(request),
            request.META.get("REMOTE_ADDR", ""),
        )
        return response


def redact_daphne_access_log() -> None:
    """Make the ``daphne`` command's access log redact paths and skip HTTP requests (logged above)."""
    import daphne.cli
    from daphne.access import AccessLogGenerator

    class RedactingAccessLogGenerator(AccessLogGenerator):
        def __call__(self, protocol, action, details):
            if protocol == "http":
                return None
            return super().__call__(protocol, action, {**details, "path": redact_url(str(details.get("path", "")))})

    # The command builds its logger from this module-level name after importing the application
    # (docs/internals.md, "daphne-access-log").
    daphne.cli.AccessLogGenerator = RedactingAccessLogGenerator

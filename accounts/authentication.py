from rest_framework import authentication, exceptions

from accounts.tokens import authenticate_key, key_from_authorization, record_failure, too_many_failures


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <key>`` (or ``Bearer <key>``) for REST clients."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme = header.split(" ", 1)[0].lower()
        if scheme not in ("token", "bearer"):
            return None  # another scheme (e.g. Basic) is not ours to judge
        address = request.META.get("REMOTE_ADDR", "")
        wait = too_many_failures(address)
        if wait:
            raise exceptions.Throttled(wait, "Too many invalid API tokens from this address; wait a minute.")
        key = key_from_authorization(header)
        token = authenticate_key(key) if key else None
        if token is None:
            record_failure(address)
            raise exceptions.AuthenticationFailed("Invalid, revoked or malformed API token.")
        return token.user, token

    def authenticate_header(self, request):
        # Naming a scheme makes DRF answer 401 rather than 403 without credentials.
        return self.keyword


class RoutingKeyAuthentication(authentication.BaseAuthentication):
    """The API token in a JSON body's ``routing_key``, where PagerDuty's Events API v2 clients put their key.

    Those clients can be given only a URL and a key, so the key travels in
    the body. Consulted after the ``Authorization`` header (which wins when
    both are sent), with the same failure throttling.
    """

    field = "routing_key"

    def authenticate(self, request):
        body = request.data
        key = body.get(self.field) if isinstance(body, dict) else None
        if not key:
            return None
        address = request.META.get("REMOTE_ADDR", "")
        wait = too_many_failures(address)
        if wait:
            raise exceptions.Throttled(wait, "Too many invalid API tokens from this address; wait a minute.")
        token = authenticate_key(key) if isinstance(key, str) else None
        if token is None:
            record_failure(address)
            raise exceptions.AuthenticationFailed(f"The {self.field} is not a valid, unrevoked API token.")
        return token.user, token

    def authenticate_header(self, request):
        return ApiTokenAuthentication.keyword

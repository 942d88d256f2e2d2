from rest_framework.throttling import SimpleRateThrottle


class ApiTokenRateThrottle(SimpleRateThrottle):
    """Limits requests made with an API token, per token.

    Browser sessions are people clicking; scripts are what can run away, so
    only token traffic is throttled. The rate is ``OPSCONSOLE_API_TOKEN_RATE``.
    """

    scope = "api_token"

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        if token is not None and hasattr(token, "prefix"):
            return self.cache_format % {"scope": self.scope, "ident": f"token:{token.prefix}"}
        return None

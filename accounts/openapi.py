"""How the OpenAPI schema describes our token authentication."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` or `Bearer <key>`; keys come from `manage.py create_api_token`.",
        }


class RoutingKeyScheme(OpenApiAuthenticationExtension):
    """The PagerDuty endpoint's key in the body's ``routing_key``.

    OpenAPI has no security scheme for a body field, so this adds none: the
    endpoint lists the header token, and its description says the key may
    travel as ``routing_key`` instead.
    """

    target_class = "accounts.authentication.RoutingKeyAuthentication"
    name: list[str] = []  # no security scheme component of its own

    def get_security_requirement(self, auto_schema):
        return None

    def get_security_definition(self, auto_schema):
        return []

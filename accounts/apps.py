from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and API tokens"

    def ready(self):
        from accounts import audit, credentials, openapi  # noqa: F401 - signal receivers; the OpenAPI description of tokens

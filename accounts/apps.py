from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and organizations")

    def ready(self) -> None:
        from accounts.core.bearer import register_bearer_resolver
        from accounts.core.credentials import register_credential_issuer
        from accounts.core.ratelimit import check_rate_settings
        from accounts.core.secrecy import ACCESS_TOKEN_PREFIX
        from accounts.oauth.resolver import resolve_access_token
        from accounts.oauth.services import OAuthConnections

        # A mistyped rate must stop the start, not surface as a 500 on the first limited request.
        check_rate_settings()

        register_bearer_resolver(ACCESS_TOKEN_PREFIX, resolve_access_token)
        register_credential_issuer("oauth", OAuthConnections())

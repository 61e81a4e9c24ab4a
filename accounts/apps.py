from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and organizations")

    def ready(self) -> None:
        from accounts.core.bearer import register_bearer_resolver
        from accounts.core.credentials import register_credential_issuer
        from accounts.core.secrecy import ACCESS_TOKEN_PREFIX
        from accounts.oauth.resolver import resolve_access_token
        from accounts.oauth.services import OAuthConnections

        register_bearer_resolver(ACCESS_TOKEN_PREFIX, resolve_access_token)
        register_credential_issuer("oauth", OAuthConnections())

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = _("API keys")

    def ready(self) -> None:
        from accounts.core.bearer import register_bearer_resolver
        from accounts.core.credentials import register_credential_issuer
        from accounts.core.secrecy import API_KEY_PREFIX
        from apikeys.resolver import resolve_api_key
        from apikeys.services import PersonalApiKeys

        register_bearer_resolver(API_KEY_PREFIX, resolve_api_key)
        register_credential_issuer("api_keys", PersonalApiKeys())

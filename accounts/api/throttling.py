"""Rate limit per API key, counted in the cache (shared by every worker when REDIS_URL is set)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.core.principal import Principal


class ApiKeyRateThrottle(SimpleRateThrottle):
    """`DEFAULT_THROTTLE_RATES["api_key"]` requests per key; a rolled key and its successor count apart."""

    scope = "api_key"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        principal = request.auth
        if not isinstance(principal, Principal) or principal.credential is None:
            return None  # unauthenticated requests never reach a view: nothing to count
        return self.cache_format % {"scope": self.scope, "ident": principal.credential.id}

"""Rate limit per API key: Gatehouse's one limiter (accounts/core/ratelimit.py), at API_RATE_LIMIT.

DRF's own SimpleRateThrottle reads a request history from the cache, then writes it back: requests
racing between the two all pass. The limiter's count is one atomic increment instead.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts.core.principal import Principal
from accounts.core.ratelimit import hit


class ApiKeyRateThrottle(BaseThrottle):
    """`API_RATE_LIMIT` requests per key; a rolled key and its successor count apart."""

    retry_after: int | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal) or principal.credential is None:
            return True  # unauthenticated requests never reach a view: nothing to count
        # DRF makes a throttle per request, so the answer can wait here for wait().
        self.retry_after = hit(scope="api", key=principal.credential.id, rate=settings.API_RATE_LIMIT)
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after

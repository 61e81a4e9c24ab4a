"""Rate limits of the dashboard and OAuth endpoints: one helper over django-ratelimit's counters.

`hit()` counts a request against a named bucket and says, when it is over the rate, how many seconds
until the window ends. Buckets live in the Django cache (Redis with REDIS_URL, so workers share them).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django_ratelimit.core import get_usage

Key = str | Callable[[str, HttpRequest], str]


def hit(request: HttpRequest, *, group: str, key: Key, rate: str, count: bool = True) -> int | None:
    """Count the request (or with count=False only look); the seconds to wait when over the rate, else None.

    Counting, the request that exceeds the rate is refused; only looking, the rate must not be spent.
    """
    usage = get_usage(request, group=group, key=key, rate=rate, increment=count)
    if usage is None:
        return None
    over = usage["should_limit"] if count else usage["count"] >= usage["limit"]
    return max(1, int(usage["time_left"])) if over else None

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from tests.support.api import Api


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    # The per-key counters live in the cache, which outlives a test's database transaction.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from tests.apikeys.utils import Clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    # The per-key counters live in the cache, which outlives a test's database transaction.
    cache.clear()
    yield
    cache.clear()


class Api:
    """A JSON client that sends one key as a bearer token."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __call__(self, method: str, path: str, key: str | None, data: Any = None, **extra: Any) -> Any:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
        kwargs: dict[str, Any] = {**headers, **extra}
        if data is not None and method.lower() in ("post", "patch", "put"):
            kwargs.update(data=json.dumps(data), content_type="application/json")
        elif data is not None:
            kwargs["data"] = data
        return getattr(self.client, method.lower())(path, **kwargs)


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)

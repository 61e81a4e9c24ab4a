from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.models import OAuthApplication
from tests.support.oauth import register


@pytest.fixture(autouse=True)
def _clear_rate_limits() -> None:
    cache.clear()  # registration is rate-limited per IP, and every test client is 127.0.0.1


@pytest.fixture
def app(db: None) -> OAuthApplication:
    response = register(Client())
    assert response.status_code == 201, response.content
    return OAuthApplication.objects.get(client_id=response.json()["client_id"])

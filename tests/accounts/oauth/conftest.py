from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import OAuthApplication
from tests.support.oauth import register


@pytest.fixture
def app(db: None) -> OAuthApplication:
    response = register(Client())
    assert response.status_code == 201, response.content
    return OAuthApplication.objects.get(client_id=response.json()["client_id"])

"""Item 8: an OAuth token issued for the /mcp resource is accepted by /mcp only (RFC 8707)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.core.bearer import InvalidToken, resolve_bearer
from accounts.core.principal import Channel
from accounts.models import OAuthApplication, Organization, User
from tests.support.oauth import obtain_tokens

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/projects/", "/api/v1/whoami/", "/api/v1/members/"])
def test_the_rest_api_refuses_a_token_issued_for_mcp(
    app: OAuthApplication, owner: User, org: Organization, path: str
) -> None:
    token = obtain_tokens(owner, app, org)["access_token"]
    response = Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_the_token_still_works_where_it_was_issued_for(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    token = obtain_tokens(owner, app, org)["access_token"]
    assert resolve_bearer(token=token, channel=Channel.MCP, ip=None, user_agent="").organization == org
    for channel in (Channel.API, Channel.WEB, Channel.SYSTEM):
        with pytest.raises(InvalidToken):
            resolve_bearer(token=token, channel=channel, ip=None, user_agent="")


def test_the_openapi_schema_says_the_api_takes_keys(client: Client) -> None:
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    scheme = schema["components"]["securitySchemes"]["apiKey"]
    assert scheme["bearerFormat"] == "sk-…"
    assert "wat_" not in str(schema["components"]["securitySchemes"])

"""Item 9: rate limits are per organization and per connection, never one bucket across tenants."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from accounts.core.principal import Channel, Principal
from accounts.models import OAuthApplication, Organization, User
from accounts.oauth.applications import app_credential
from accounts.oauth.resolver import resolve_access_token
from mcpserver.limits import check_rate_limits
from tests.factories import MembershipFactory, OrganizationFactory
from tests.support.oauth import obtain_tokens, refresh

pytestmark = pytest.mark.django_db


def _principal(token: str) -> Principal:
    return resolve_access_token(token=token, channel=Channel.MCP, ip=None, user_agent="").principal


@override_settings(MCP_RATE_LIMIT_PER_CREDENTIAL="3/min", MCP_RATE_LIMIT_PER_ORG="1000/min")
def test_one_oauth_app_has_a_bucket_per_connection(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    other_org = OrganizationFactory()
    other_owner = MembershipFactory(organization=other_org, role="owner").user
    mine = _principal(obtain_tokens(owner, app, org)["access_token"])
    theirs = _principal(obtain_tokens(other_owner, app, other_org)["access_token"])

    assert [check_rate_limits(principal=mine) for _ in range(3)] == [None, None, None]
    limited = check_rate_limits(principal=mine)
    assert limited is not None
    assert limited.limit == "credential"
    # The same app, acting in another organization, has not spent anything.
    assert check_rate_limits(principal=theirs) is None


def test_long_client_metadata_document_ids_do_not_merge(db: None) -> None:
    base = "https://clients.example.com/" + "a" * 60
    first = OAuthApplication(client_id=base + "/one.json", name="", registration_source="cimd")
    second = OAuthApplication(client_id=base + "/two.json", name="", registration_source="cimd")
    assert first.client_id[:64] == second.client_id[:64]
    assert app_credential(first).id != app_credential(second).id
    assert len(app_credential(first).id) <= 64
    short = OAuthApplication(client_id="abc123", name="")
    assert app_credential(short).id == "abc123"


@override_settings(OAUTH_TOKEN_RATE="2/m")
def test_refreshes_of_one_connection_do_not_limit_another_of_the_same_app(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    other_org = OrganizationFactory()
    other_owner = MembershipFactory(organization=other_org, role="owner").user
    mine = obtain_tokens(owner, app, org)["refresh_token"]
    theirs = obtain_tokens(other_owner, app, other_org)["refresh_token"]
    # Replays of one (stale) refresh token from this address exhaust that token's bucket only.
    for _ in range(3):
        refresh(Client(), app.client_id, "wrt_stale")
    assert refresh(Client(), app.client_id, "wrt_stale").status_code == 429
    assert refresh(Client(), app.client_id, mine).status_code == 200
    assert refresh(Client(), app.client_id, theirs).status_code == 200

"""`resolve_access_token`: one query, the membership re-read, the app as the credential."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.core.bearer import InvalidToken, resolve_bearer
from accounts.core.permissions import Role
from accounts.core.principal import Channel, CredentialKind
from accounts.models import Membership, OAuthAccessToken, OAuthApplication, Organization, User
from accounts.oauth.resolver import resolve_access_token
from accounts.oauth.tokens import token_checksum
from tests.factories import ProjectFactory
from tests.support.oauth import obtain_tokens, register
from tests.support.queries import NESTED, SECRET, with_rls

pytestmark = pytest.mark.django_db


def _resolve(token: str, channel: Channel = Channel.MCP):
    return resolve_access_token(token=token, channel=channel, ip="192.0.2.1", user_agent="agent/1").principal


def _row(token: str) -> OAuthAccessToken:
    return OAuthAccessToken.objects.get(token_checksum=token_checksum(token))


def test_resolves_to_the_member_org_scopes_and_app(
    app: OAuthApplication, member_membership: Membership, org: Organization
) -> None:
    project = ProjectFactory(organization=org, slug="handbook")
    tokens = obtain_tokens(member_membership.user, app, org, project=f"{org.slug}/handbook")

    principal = _resolve(tokens["access_token"])

    assert principal.user == member_membership.user
    assert principal.organization == org
    assert principal.role == Role.MEMBER
    assert principal.channel == Channel.MCP
    assert principal.project_id == project.pk
    assert principal.scopes == frozenset(
        {"projects:read", "projects:write", "documents:read", "documents:write", "members:read"}
    )
    assert principal.credential is not None
    assert principal.credential.kind == CredentialKind.OAUTH
    assert principal.credential.id == app.client_id
    assert principal.credential.label == "Test MCP client"
    assert principal.ip == "192.0.2.1"


def test_one_query_when_last_use_is_fresh(
    app: OAuthApplication, owner: User, org: Organization, django_assert_num_queries
) -> None:
    tokens = obtain_tokens(owner, app, org)
    _resolve(tokens["access_token"])  # stamps last_used_at

    with django_assert_num_queries(with_rls(1, statements=SECRET)):
        _resolve(tokens["access_token"])


def test_last_used_is_written_at_most_once_a_minute(
    app: OAuthApplication, owner: User, org: Organization, django_assert_num_queries
) -> None:
    tokens = obtain_tokens(owner, app, org)
    with django_assert_num_queries(with_rls(2, statements=SECRET + NESTED)):
        _resolve(tokens["access_token"])
    stamped = _row(tokens["access_token"]).last_used_at
    assert stamped is not None

    _resolve(tokens["access_token"])
    assert _row(tokens["access_token"]).last_used_at == stamped

    OAuthAccessToken.objects.filter(pk=_row(tokens["access_token"]).pk).update(
        last_used_at=timezone.now() - timedelta(minutes=2)
    )
    _resolve(tokens["access_token"])
    assert _row(tokens["access_token"]).last_used_at > stamped


def test_resolve_bearer_dispatches_wat_tokens(app: OAuthApplication, owner: User, org: Organization) -> None:
    tokens = obtain_tokens(owner, app, org)

    principal = resolve_bearer(token=tokens["access_token"], channel=Channel.MCP, ip=None, user_agent="")

    assert principal.organization == org
    assert principal.channel == Channel.MCP


@pytest.mark.parametrize(
    "break_it",
    [
        pytest.param(
            lambda row, m: OAuthAccessToken.objects.filter(pk=row.pk).update(
                expires=timezone.now() - timedelta(seconds=1)
            ),
            id="expired",
        ),
        pytest.param(lambda row, m: m.delete(), id="member-left"),
        pytest.param(
            lambda row, m: OAuthAccessToken.objects.filter(pk=row.pk).update(
                resource=["https://other.example/mcp"]
            ),
            id="other-resource",
        ),
        pytest.param(
            lambda row, m: OAuthAccessToken.objects.filter(pk=row.pk).update(resource=[]), id="unbound"
        ),
        pytest.param(
            lambda row, m: OAuthAccessToken.objects.filter(pk=row.pk).update(organization=None), id="no-org"
        ),
        pytest.param(lambda row, m: User.objects.filter(pk=m.user_id).update(is_active=False), id="inactive"),
        pytest.param(lambda row, m: row.delete(), id="revoked"),
    ],
)
def test_every_way_a_token_is_wrong_is_invalid_token(
    app: OAuthApplication, member_membership: Membership, org: Organization, break_it
) -> None:
    tokens = obtain_tokens(member_membership.user, app, org)
    break_it(_row(tokens["access_token"]), member_membership)

    with pytest.raises(InvalidToken):
        _resolve(tokens["access_token"])


@pytest.mark.parametrize("token", ["", "wat_", "wat_unknown", "sk-x", "wrt_" + "a" * 43, "wat_" + "x" * 500])
def test_malformed_or_unknown_tokens_are_invalid(db: None, token: str) -> None:
    with pytest.raises(InvalidToken):
        _resolve(token)


def test_a_refresh_token_is_not_an_access_token(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org)

    with pytest.raises(InvalidToken):
        _resolve(tokens["refresh_token"])


def test_the_dcr_registration_token_is_not_accepted(db: None) -> None:
    registration_token = register(Client()).json()["registration_access_token"]

    with pytest.raises(InvalidToken):
        resolve_bearer(token=registration_token, channel=Channel.MCP, ip=None, user_agent="")

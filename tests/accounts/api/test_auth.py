"""Bearer authentication over HTTP: the 401s, the query count, last use, rate limits, whoami."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, override_settings

from accounts.audit.models import AuditAction
from accounts.core.principal import Channel, CredentialKind
from accounts.models import AuditEvent, Membership, Organization
from apikeys import keys
from apikeys.services import apikey_revoke, apikey_roll
from tests.factories import ProjectFactory, principal_for
from tests.support.api import Api
from tests.support.apikeys import Clock, make_key, reload
from tests.support.queries import NARROW, NESTED, REQUEST, SECRET, with_rls

pytestmark = pytest.mark.django_db

INVALID = {
    "error": "invalid_token",
    "error_description": "The access token is malformed, unknown, expired or revoked.",
}


@pytest.fixture
def revoked(owner_membership: Membership) -> str:
    key, plaintext = make_key(owner_membership)
    apikey_revoke(principal=principal_for(owner_membership), key=key)
    return plaintext


@pytest.fixture
def expired(owner_membership: Membership, clock: Clock) -> str:
    _, plaintext = make_key(owner_membership, expires_at=clock.now + timedelta(hours=1))
    return plaintext


@pytest.mark.parametrize("kind", ["malformed", "mistyped", "unknown", "revoked", "expired", "two words"])
def test_every_wrong_key_gets_the_same_401(
    api: Api, owner_membership: Membership, clock: Clock, request: pytest.FixtureRequest, kind: str
) -> None:
    _, good = make_key(owner_membership)
    token = {
        "malformed": "sk-not-a-key",
        "mistyped": good[:-1] + ("a" if good[-1] != "a" else "b"),
        "unknown": keys.generate(),
        "revoked": request.getfixturevalue("revoked") if kind == "revoked" else "",
        "expired": request.getfixturevalue("expired") if kind == "expired" else "",
        "two words": f"{good} extra",
    }[kind]
    clock.advance(hours=2)  # past the "expired" key's expiry; nothing else expires
    response = api("GET", "/api/v1/projects/", token)
    assert response.status_code == 401
    assert response.json() == INVALID
    assert response["WWW-Authenticate"] == 'Bearer realm="Gatehouse API", error="invalid_token"'
    assert token.split()[0] not in response.content.decode()


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token abc", ""])
def test_no_bearer_token_is_401_without_an_error_code(client: Client, db: None, header: str) -> None:
    response = client.get("/api/v1/projects/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response["WWW-Authenticate"] == 'Bearer realm="Gatehouse API"'


def test_a_dashboard_session_is_not_an_api_credential(client: Client, owner_membership: Membership) -> None:
    client.force_login(owner_membership.user)
    assert client.get("/api/v1/projects/").status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer sk-ü".encode().decode("latin-1"), "Bearer \x00"])
def test_a_broken_bearer_header_is_401_invalid_token_not_500(client: Client, db: None, header: str) -> None:
    response = client.get("/api/v1/projects/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json() == INVALID


def test_an_authenticated_request_costs_two_queries(
    api: Api, org: Organization, owner_membership: Membership, django_assert_num_queries: object
) -> None:
    for n in range(5):
        ProjectFactory(organization=org, slug=f"p{n}")
    _, plaintext = make_key(owner_membership)
    first = with_rls(3, statements=REQUEST + SECRET + NESTED + NARROW)
    with django_assert_num_queries(first):  # type: ignore[operator]
        api("GET", "/api/v1/projects/", plaintext)  # the key, its first last-used stamp, the projects
    with django_assert_num_queries(with_rls(2, statements=REQUEST + NARROW)):  # type: ignore[operator]
        response = api("GET", "/api/v1/projects/", plaintext)  # the key, the projects
    assert len(response.json()) == 5


def test_document_list_query_count_is_flat(
    api: Api, org: Organization, owner_membership: Membership, django_assert_num_queries: object
) -> None:
    from tests.factories import DocumentFactory

    project = ProjectFactory(organization=org, slug="handbook")
    for _ in range(5):
        DocumentFactory(project=project)
    _, plaintext = make_key(owner_membership)
    api("GET", "/api/v1/whoami/", plaintext)
    with django_assert_num_queries(with_rls(3, statements=REQUEST + NARROW)):  # type: ignore[operator]
        response = api("GET", "/api/v1/projects/handbook/documents/", plaintext)  # key, project, page
    assert len(response.json()["results"]) == 5


def test_last_use_and_address_are_recorded(api: Api, owner_membership: Membership) -> None:
    key, plaintext = make_key(owner_membership)
    api("GET", "/api/v1/whoami/", plaintext, REMOTE_ADDR="192.0.2.44")
    key = reload(key)
    assert key.last_used_at is not None
    assert key.last_used_ip == "192.0.2.44"


def test_rolled_keys_work_during_the_overlap_only(
    api: Api, owner_membership: Membership, clock: Clock
) -> None:
    old, old_plaintext = make_key(owner_membership)
    _, new_plaintext = apikey_roll(
        principal=principal_for(owner_membership), key=old, overlap=timedelta(hours=24)
    )
    assert api("GET", "/api/v1/whoami/", old_plaintext).status_code == 200
    clock.advance(hours=24)
    assert api("GET", "/api/v1/whoami/", old_plaintext).status_code == 401
    assert api("GET", "/api/v1/whoami/", new_plaintext).status_code == 200


@override_settings(API_RATE_LIMIT="2/min")
def test_rate_limit_is_per_key_with_retry_after(api: Api, owner_membership: Membership) -> None:
    _, first = make_key(owner_membership)
    _, second = make_key(owner_membership)
    assert [api("GET", "/api/v1/whoami/", first).status_code for _ in range(2)] == [200, 200]
    limited = api("GET", "/api/v1/whoami/", first)
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["retry_after"] == int(limited["Retry-After"])
    assert api("GET", "/api/v1/whoami/", second).status_code == 200


def test_writes_are_audited_with_channel_api_and_the_key(
    api: Api, org: Organization, owner_membership: Membership
) -> None:
    key, plaintext = make_key(owner_membership)
    response = api("POST", "/api/v1/projects/", plaintext, {"name": "From CI"}, REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 201
    event = AuditEvent.objects.for_org(org).get(action=AuditAction.PROJECT_CREATED)
    assert (event.channel, event.actor, event.ip) == (Channel.API, owner_membership.user, "192.0.2.7")
    assert (event.credential_kind, event.credential_id, event.credential_label) == (
        CredentialKind.API_KEY,
        key.public_id,
        key.hint,
    )


def test_whoami_describes_the_key_and_what_it_can_do(
    api: Api, org: Organization, member_membership: Membership
) -> None:
    project = ProjectFactory(organization=org, slug="handbook")
    key, plaintext = make_key(member_membership, scopes=["documents:write"], project=project, name="Cursor")
    body = api("GET", "/api/v1/whoami/", plaintext).json()
    assert body["user"]["email"] == "member@acme.test"
    assert body["organization"] == {"id": org.public_id, "slug": "acme", "name": "Acme"}
    assert body["role"] == "member"
    assert body["scopes"] == ["documents:read", "documents:write"]
    assert body["effective_scopes"] == ["documents:read", "documents:write"]
    assert body["project"] == "handbook"
    assert body["key"]["id"] == key.public_id
    assert body["key"]["hint"] == key.hint
    assert body["key"]["name"] == "Cursor"
    assert plaintext not in str(body)

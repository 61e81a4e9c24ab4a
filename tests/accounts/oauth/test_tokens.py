"""The token endpoint: wat_/wrt_ tokens stored hashed, bound to the org and the MCP resource, rotation,
the retry window, reuse detection, RFC 7009 revocation and RFC 7662 introspection."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from accounts.audit.models import AuditAction
from accounts.core.principal import Channel
from accounts.models import (
    AuditEvent,
    OAuthAccessToken,
    OAuthApplication,
    OAuthRefreshToken,
    Organization,
    User,
)
from accounts.oauth.validators import GatehouseOAuth2Validator
from tests.factories import ProjectFactory
from tests.support.oauth import (
    access_token_works,
    code_from,
    consent,
    exchange,
    obtain_tokens,
    refresh,
    register,
    start,
)

pytestmark = pytest.mark.django_db


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _rotated_ago(refresh_token: str, seconds: int) -> None:
    OAuthRefreshToken.objects.filter(token_checksum=_checksum(refresh_token)).update(
        revoked=timezone.now() - timedelta(seconds=seconds)
    )


# The code exchange


def test_code_exchange_issues_hashed_wat_and_wrt_tokens_bound_to_org_and_resource(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org)

    assert tokens["access_token"].startswith("wat_")
    assert tokens["refresh_token"].startswith("wrt_")
    assert tokens["expires_in"] == 3600
    assert tokens["token_type"] == "Bearer"
    access = OAuthAccessToken.objects.get(token_checksum=_checksum(tokens["access_token"]))
    rt = OAuthRefreshToken.objects.get(token_checksum=_checksum(tokens["refresh_token"]))
    assert access.token == ""  # only the SHA-256 is stored
    assert rt.token == ""
    assert access.organization == org
    assert rt.organization == org
    assert access.resource == [settings.MCP_RESOURCE_URL]
    assert rt.resource == [settings.MCP_RESOURCE_URL]


def test_token_response_is_not_cached(app: OAuthApplication, owner: User, org: Organization) -> None:
    browser = Client()
    browser.force_login(owner)
    authz = start(app)
    params = code_from(consent(browser, authz, org=org))

    response = exchange(Client(), authz, params["code"])

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/json"


def test_wrong_code_verifier_is_invalid_grant(app: OAuthApplication, owner: User, org: Organization) -> None:
    browser = Client()
    browser.force_login(owner)
    authz = start(app)
    params = code_from(consent(browser, authz, org=org))
    authz.verifier = "x" * 50

    response = exchange(Client(), authz, params["code"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_token_for_another_resource_is_invalid_target(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    browser = Client()
    browser.force_login(owner)
    authz = start(app)
    params = code_from(consent(browser, authz, org=org))

    response = exchange(Client(), authz, params["code"], resource="https://other.example/mcp")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_authorization_without_resource_is_bound_to_the_mcp_resource(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org, resource=None)

    assert OAuthAccessToken.objects.get(token_checksum=_checksum(tokens["access_token"])).resource == [
        settings.MCP_RESOURCE_URL
    ]
    assert access_token_works(tokens["access_token"])


def test_project_is_carried_to_the_tokens(app: OAuthApplication, owner: User, org: Organization) -> None:
    project = ProjectFactory(organization=org, slug="handbook")

    tokens = obtain_tokens(owner, app, org, project=f"{org.slug}/handbook")
    assert OAuthAccessToken.objects.get(token_checksum=_checksum(tokens["access_token"])).project == project
    renewed = refresh(Client(), app.client_id, tokens["refresh_token"]).json()

    assert OAuthAccessToken.objects.get(token_checksum=_checksum(renewed["access_token"])).project == project
    assert (
        OAuthRefreshToken.objects.get(token_checksum=_checksum(renewed["refresh_token"])).project == project
    )


# Rotation


def test_refresh_rotates_both_tokens_and_keeps_the_organization(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org)

    response = refresh(Client(), app.client_id, tokens["refresh_token"])

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    renewed = response.json()
    assert renewed["access_token"] != tokens["access_token"]
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert not access_token_works(tokens["access_token"])
    assert access_token_works(renewed["access_token"])
    new_access = OAuthAccessToken.objects.get(token_checksum=_checksum(renewed["access_token"]))
    assert new_access.organization == org
    assert (
        OAuthRefreshToken.objects.get(token_checksum=_checksum(renewed["refresh_token"])).organization == org
    )
    assert (
        OAuthRefreshToken.objects.get(token_checksum=_checksum(tokens["refresh_token"])).revoked is not None
    )


def test_refresh_for_another_resource_is_invalid_target(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org)

    response = refresh(Client(), app.client_id, tokens["refresh_token"], resource="https://other.example/mcp")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_refresh_with_another_clients_id_is_refused(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org)
    other = register(Client()).json()["client_id"]

    assert refresh(Client(), other, tokens["refresh_token"]).status_code == 400


def test_benign_retry_inside_the_window_gets_a_fresh_pair_and_keeps_the_first(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org)
    first = refresh(Client(), app.client_id, tokens["refresh_token"]).json()  # response "lost"
    _rotated_ago(tokens["refresh_token"], settings.OAUTH_REFRESH_RETRY_SECONDS - 5)

    retry = refresh(Client(), app.client_id, tokens["refresh_token"])

    assert retry.status_code == 200
    second = retry.json()
    assert second["access_token"] not in {first["access_token"], tokens["access_token"]}
    assert second["scope"] == first["scope"]
    # Whichever response the client kept works, and both stay in one family with the organization.
    assert access_token_works(first["access_token"])
    assert access_token_works(second["access_token"])
    families = set(
        OAuthRefreshToken.objects.filter(
            token_checksum__in=[_checksum(first["refresh_token"]), _checksum(second["refresh_token"])]
        ).values_list("token_family", "organization_id")
    )
    assert len(families) == 1
    assert families.pop()[1] == org.pk
    assert refresh(Client(), app.client_id, second["refresh_token"]).status_code == 200
    assert refresh(Client(), app.client_id, first["refresh_token"]).status_code == 200
    assert (
        not AuditEvent.objects.for_org(org).filter(action=AuditAction.OAUTH_REFRESH_REUSE_DETECTED).exists()
    )


def test_replay_after_the_window_revokes_the_whole_family_and_is_audited(
    app: OAuthApplication, owner: User, org: Organization, django_capture_on_commit_callbacks
) -> None:
    # The whole test in one capture: sealing is queued once per organization and transaction.
    with django_capture_on_commit_callbacks(execute=True):
        tokens = obtain_tokens(owner, app, org)
        current = refresh(Client(), app.client_id, tokens["refresh_token"]).json()
        _rotated_ago(tokens["refresh_token"], settings.OAUTH_REFRESH_RETRY_SECONDS + 1)

        replay = refresh(Client(HTTP_USER_AGENT="stolen/1.0"), app.client_id, tokens["refresh_token"])

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert not access_token_works(current["access_token"])
    assert refresh(Client(), app.client_id, current["refresh_token"]).status_code == 400
    event = AuditEvent.objects.for_org(org).get(action=AuditAction.OAUTH_REFRESH_REUSE_DETECTED)
    assert event.channel == "api"
    assert event.actor == owner
    assert event.credential_kind == "oauth"
    assert event.credential_id == app.client_id
    assert event.user_agent == "stolen/1.0"
    assert event.hash  # sealed into the chain


def test_replay_after_the_successor_was_rotated_is_reuse_even_inside_the_window(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org)
    second = refresh(Client(), app.client_id, tokens["refresh_token"]).json()
    third = refresh(Client(), app.client_id, second["refresh_token"]).json()

    replay = refresh(Client(), app.client_id, tokens["refresh_token"])

    assert replay.status_code == 400
    assert not access_token_works(third["access_token"])
    assert (
        AuditEvent.objects.for_org(org).filter(action=AuditAction.OAUTH_REFRESH_REUSE_DETECTED).count() == 1
    )


def test_a_deliberately_revoked_refresh_token_is_never_a_retry(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org)
    Client().post(
        "/oauth/revoke/",
        {"token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": app.client_id},
    )

    assert refresh(Client(), app.client_id, tokens["refresh_token"]).status_code == 400


def test_refresh_after_leaving_the_organization_is_refused(
    app: OAuthApplication, member_membership, org: Organization
) -> None:
    tokens = obtain_tokens(member_membership.user, app, org)
    member_membership.delete()

    assert refresh(Client(), app.client_id, tokens["refresh_token"]).status_code == 400


# Rate limit


@override_settings(OAUTH_TOKEN_RATE="3/m")
def test_the_token_endpoint_is_rate_limited_per_grant(app: OAuthApplication) -> None:
    statuses = [refresh(Client(), app.client_id, "wrt_nosuchtoken").status_code for _ in range(4)]
    limited = refresh(Client(REMOTE_ADDR="10.0.0.2"), app.client_id, "wrt_nosuchtoken")

    assert statuses == [400, 400, 400, 429]
    assert limited.json()["error"] == "rate_limited"
    assert limited["Content-Type"] == "application/json"
    assert limited["Cache-Control"] == "no-store"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # Another grant of the same client, from the same IP, is counted apart.
    assert refresh(Client(), app.client_id, "wrt_anothertoken").status_code == 400


@override_settings(OAUTH_TOKEN_FAILURE_RATE="3/m")
def test_refused_token_requests_are_limited_per_ip(app: OAuthApplication) -> None:
    statuses = [refresh(Client(), app.client_id, f"wrt_guess{n}").status_code for n in range(5)]

    assert statuses == [400, 400, 400, 429, 429]
    assert refresh(Client(REMOTE_ADDR="10.0.0.2"), app.client_id, "wrt_guess9").status_code == 400


@override_settings(OAUTH_TOKEN_RATE="1/m")
def test_the_token_rate_limit_reads_the_client_from_http_basic() -> None:
    basic = "Basic " + base64.b64encode(b"confidential-client:secret").decode()
    client = Client(HTTP_AUTHORIZATION=basic)

    assert client.post("/oauth/token/", {"grant_type": "refresh_token"}).status_code != 429
    assert client.post("/oauth/token/", {"grant_type": "refresh_token"}).status_code == 429
    other = Client(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"another-client:secret").decode())
    assert other.post("/oauth/token/", {"grant_type": "refresh_token"}).status_code != 429


# RFC 7009 and RFC 7662


def test_rfc7009_revoking_the_access_token_kills_the_refresh_token_too(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org)

    response = Client().post("/oauth/revoke/", {"token": tokens["access_token"], "client_id": app.client_id})

    assert response.status_code == 200
    assert not access_token_works(tokens["access_token"])
    assert refresh(Client(), app.client_id, tokens["refresh_token"]).status_code == 400


def test_rfc7009_another_client_cannot_revoke(app: OAuthApplication, owner: User, org: Organization) -> None:
    tokens = obtain_tokens(owner, app, org)
    other = register(Client()).json()["client_id"]

    response = Client().post("/oauth/revoke/", {"token": tokens["access_token"], "client_id": other})

    assert response.status_code == 200  # RFC 7009: the same answer, and nothing revoked
    assert access_token_works(tokens["access_token"])
    assert not AuditEvent.objects.for_org(org).filter(action=AuditAction.OAUTH_APP_REVOKED).exists()


@pytest.mark.parametrize("token_type", ["access_token", "refresh_token"])
def test_rfc7009_revocation_is_audited_in_the_tokens_organization(
    app: OAuthApplication, owner: User, org: Organization, token_type: str
) -> None:
    tokens = obtain_tokens(owner, app, org)

    response = Client(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Client/1.0").post(
        "/oauth/revoke/", {"token": tokens[token_type], "client_id": app.client_id}
    )

    assert response.status_code == 200
    event = AuditEvent.objects.for_org(org).get(action=AuditAction.OAUTH_APP_REVOKED)
    assert (event.channel, event.actor, event.credential_id) == (Channel.API, owner, app.client_id)
    assert (event.ip, event.user_agent) == ("203.0.113.9", "Client/1.0")
    assert event.data == {
        "client_id": app.client_id,
        "user": owner.email,
        "reason": "client_revoked",
        "token_type": token_type,
    }


def test_rfc7009_revoking_an_unknown_or_revoked_token_audits_nothing(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org)
    client = Client()
    revoke = {"token": tokens["refresh_token"], "client_id": app.client_id}

    assert client.post("/oauth/revoke/", revoke).status_code == 200
    assert client.post("/oauth/revoke/", revoke).status_code == 200
    assert client.post("/oauth/revoke/", {**revoke, "token": "wrt_unknown"}).status_code == 200

    assert AuditEvent.objects.for_org(org).filter(action=AuditAction.OAUTH_APP_REVOKED).count() == 1


def test_rfc7662_introspection_for_a_confidential_client(owner: User, org: Organization) -> None:
    registration = register(
        Client(), token_endpoint_auth_method="client_secret_basic", client_name="Resource server"
    )
    confidential = registration.json()
    app = OAuthApplication.objects.get(client_id=confidential["client_id"])
    tokens = obtain_tokens(owner, app, org, client_secret=confidential["client_secret"])
    basic = base64.b64encode(f"{confidential['client_id']}:{confidential['client_secret']}".encode()).decode()
    introspect = Client(HTTP_AUTHORIZATION=f"Basic {basic}")

    active = introspect.post("/oauth/introspect/", {"token": tokens["access_token"]})
    unknown = introspect.post("/oauth/introspect/", {"token": "wat_unknown"})
    anonymous = Client().post("/oauth/introspect/", {"token": tokens["access_token"]})

    assert active.status_code == 200
    body = active.json()
    assert body["active"] is True
    assert body["client_id"] == app.client_id
    assert body["aud"] == [settings.MCP_RESOURCE_URL]
    assert set(body["scope"].split()) >= {"projects:read"}
    assert unknown.json() == {"active": False}
    assert anonymous.status_code in {401, 403}


def test_confidential_client_exchange_needs_its_secret(owner: User, org: Organization) -> None:
    confidential = register(Client(), token_endpoint_auth_method="client_secret_post").json()
    app = OAuthApplication.objects.get(client_id=confidential["client_id"])
    browser = Client()
    browser.force_login(owner)
    authz = start(app)
    params = code_from(consent(browser, authz, org=org))

    without = exchange(Client(), authz, params["code"])
    with_secret = exchange(Client(), authz, params["code"], client_secret=confidential["client_secret"])

    assert without.status_code == 401
    assert with_secret.status_code == 200
    assert json.loads(with_secret.content)["access_token"].startswith("wat_")


def _race(monkeypatch: pytest.MonkeyPatch, app: OAuthApplication, refresh_token: str) -> dict[str, Any]:
    """A second refresh with the same token lands between the first one's validation and its save."""
    original = GatehouseOAuth2Validator.validate_refresh_token
    state: dict[str, Any] = {}

    def racing(self: GatehouseOAuth2Validator, *args: Any, **kwargs: Any) -> bool:
        valid = original(self, *args, **kwargs)
        if "inner" not in state:
            state["inner"] = None
            state["inner"] = refresh(Client(), app.client_id, refresh_token)
        return valid

    monkeypatch.setattr(GatehouseOAuth2Validator, "validate_refresh_token", racing)
    state["outer"] = refresh(Client(), app.client_id, refresh_token)
    return state


def test_two_concurrent_refreshes_with_one_token_both_succeed(
    app: OAuthApplication, owner: User, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = obtain_tokens(owner, app, org)

    race = _race(monkeypatch, app, tokens["refresh_token"])

    assert race["inner"].status_code == 200
    assert race["outer"].status_code == 200
    assert race["outer"].json()["access_token"] != race["inner"].json()["access_token"]
    assert access_token_works(race["outer"].json()["access_token"])
    assert access_token_works(race["inner"].json()["access_token"])


@override_settings(OAUTH_REFRESH_RETRY_SECONDS=0)
def test_strict_mode_without_a_retry_window(
    app: OAuthApplication, owner: User, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = obtain_tokens(owner, app, org)

    race = _race(monkeypatch, app, tokens["refresh_token"])

    assert race["inner"].status_code == 200
    assert race["outer"].status_code == 400
    assert race["outer"].json()["error"] == "invalid_grant"
    monkeypatch.undo()
    assert (
        refresh(Client(), app.client_id, tokens["refresh_token"]).status_code == 400
    )  # a replay: family gone
    assert not access_token_works(race["inner"].json()["access_token"])

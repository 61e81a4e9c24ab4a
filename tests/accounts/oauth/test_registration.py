"""Dynamic client registration (RFC 7591), the redirect-URI policy, CIMD and the cleanup command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

from accounts.models import OAuthAccessToken, OAuthApplication, Organization, User
from tests.support.oauth import obtain_tokens, register, start

pytestmark = pytest.mark.django_db


def test_public_client_registration_response_is_rfc7591_complete() -> None:
    before = int(timezone.now().timestamp())
    response = register(Client(), scope="projects:read documents:read")

    assert response.status_code == 201
    body = response.json()
    app = OAuthApplication.objects.get(client_id=body["client_id"])
    assert app.client_type == OAuthApplication.CLIENT_PUBLIC
    assert app.registration_source == OAuthApplication.RegistrationSource.DCR
    assert body["client_id_issued_at"] >= before
    assert body["token_endpoint_auth_method"] == "none"
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert body["redirect_uris"] == ["http://127.0.0.1:53682/callback"]
    assert body["client_name"] == "Test MCP client"
    assert body["scope"] == "projects:read documents:read"
    assert body["registration_access_token"]
    assert body["registration_client_uri"].endswith(f"/oauth/register/{body['client_id']}/")
    assert "client_secret" not in body
    assert "client_secret_expires_at" not in body


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_confidential_client_gets_a_secret_that_never_expires_and_its_method(method: str) -> None:
    body = register(Client(), token_endpoint_auth_method=method).json()

    assert body["client_secret"]
    assert body["client_secret_expires_at"] == 0
    assert body["token_endpoint_auth_method"] == method


@pytest.mark.parametrize(
    "uri",
    [
        "https://claude.ai/api/mcp/auth_callback",
        "http://127.0.0.1:61023/callback",
        "http://localhost:24036/oauth/callback",
        "http://[::1]:8080/cb",
        "cursor://anysphere.cursor-retrieval/oauth/user-ms/callback",
        "vscode://vscode.github-authentication/did-authenticate",
    ],
)
def test_allowed_redirect_uris(uri: str) -> None:
    assert register(Client(), redirect_uris=[uri]).status_code == 201


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("http://evil.example/cb", "uses http on a host that is not this computer"),
        ("http://192.168.1.10:8080/cb", "uses http on a host"),
        ("https://ok.example/cb#frag", "fragment"),
        ("javascript://alert(1)", "scheme is not allowed"),
        ("myapp://callback", "scheme is not allowed"),
        ("/relative/path", "has no scheme"),
        ("http://127.0.0.1:notaport/cb", "not a valid URL"),
    ],
)
def test_bad_redirect_uris_are_refused_with_invalid_redirect_uri(uri: str, fragment: str) -> None:
    response = register(Client(), redirect_uris=["https://fine.example/cb", uri])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    assert fragment in response.json()["error_description"]
    assert not OAuthApplication.objects.exists()


def test_model_validation_applies_the_same_policy() -> None:
    """The registration management endpoint (RFC 7592) and the admin go through full_clean()."""
    app = OAuthApplication(
        client_type=OAuthApplication.CLIENT_PUBLIC,
        authorization_grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://evil.example/cb",
    )
    with pytest.raises(Exception, match="not this computer"):
        app.full_clean(exclude=["client_secret"])


def test_malformed_registration_is_invalid_client_metadata() -> None:
    response = Client().post("/oauth/register/", data="not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


@override_settings(OAUTH_DCR_RATE="3/h")
def test_registration_is_rate_limited_per_ip() -> None:
    statuses = [register(Client()).status_code for _ in range(4)]
    other_ip = register(Client(REMOTE_ADDR="10.0.0.2")).status_code

    assert statuses == [201, 201, 201, 429]
    assert other_ip == 201
    assert OAuthApplication.objects.count() == 4


# Client ID Metadata Documents


class FakeFetcher:
    documents: dict[str, dict[str, Any]] = {}

    def fetch(self, client_id: str) -> tuple[dict[str, Any], int]:
        from oauth2_provider.cimd import CIMDError

        if client_id not in self.documents:
            raise CIMDError("not found")
        return self.documents[client_id], 3600


@pytest.fixture
def fake_cimd(monkeypatch: pytest.MonkeyPatch) -> type[FakeFetcher]:
    monkeypatch.setattr(oauth2_settings, "CIMD_METADATA_FETCHER", FakeFetcher)
    FakeFetcher.documents = {}
    return FakeFetcher


def test_cimd_client_is_resolved_and_shown_as_verified(fake_cimd: type[FakeFetcher], owner: User) -> None:
    url = "https://client.example.com/oauth/metadata.json"
    fake_cimd.documents[url] = {
        "client_id": url,
        "client_name": "Example Desktop",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    browser = Client()
    browser.force_login(owner)
    authz = start(OAuthApplication(client_id=url))

    response = browser.get("/oauth/authorize/", authz.params(redirect_uri="http://127.0.0.1:5000/callback"))

    assert response.status_code == 200
    assert "Verified by client.example.com" in response.content.decode()
    assert OAuthApplication.objects.get(client_id=url).registration_source == "cimd"


def test_a_cimd_document_that_fails_gets_a_clear_error(fake_cimd: type[FakeFetcher], owner: User) -> None:
    url = "https://broken.example.com/metadata.json"
    browser = Client()
    browser.force_login(owner)

    response = browser.get("/oauth/authorize/", start(OAuthApplication(client_id=url)).params())

    assert response.status_code == 400
    html = response.content.decode()
    assert "could not be fetched or is not valid" in html
    assert "dynamic client registration" in html


# Cleanup


def test_clear_unused_removes_only_old_registrations_nobody_uses(
    owner: User, org: Organization, app: OAuthApplication
) -> None:
    unused = OAuthApplication.objects.get(client_id=register(Client()).json()["client_id"])
    fresh = OAuthApplication.objects.get(client_id=register(Client()).json()["client_id"])
    obtain_tokens(owner, app, org)
    old = timezone.now() - timedelta(days=31)
    OAuthApplication.objects.filter(pk__in=[unused.pk, app.pk]).update(created=old)
    OAuthAccessToken.objects.filter(application=app).update(created=old)

    out = StringIO()
    call_command("oauth_clear_unused", stdout=out)

    assert "removed 1 unused" in out.getvalue()
    assert set(OAuthApplication.objects.values_list("pk", flat=True)) == {app.pk, fresh.pk}


def test_clear_unused_dry_run_changes_nothing() -> None:
    register(Client())
    OAuthApplication.objects.update(created=timezone.now() - timedelta(days=40))
    out = StringIO()

    call_command("oauth_clear_unused", "--dry-run", stdout=out)

    assert "would remove 1" in out.getvalue()
    assert OAuthApplication.objects.count() == 1

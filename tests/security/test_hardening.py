"""Item 12 (the smaller ones): CSP, HTTPS for /mcp too, expiring registration tokens, consent that grants
only what was asked, and sign-in failures counted per network (password spraying)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import OAuthAccessToken, OAuthApplication, Organization, User
from tests.factories import UserFactory
from tests.support.mcp import JSON, Tenant, tool_call
from tests.support.oauth import code_from, exchange, register, start

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/login/", "/signup/", "/password-reset/", "/orgs/acme/projects/"])
def test_dashboard_pages_send_a_content_security_policy(owner_client: Client, path: str) -> None:
    policy = owner_client.get(path)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


def test_the_consent_page_sends_the_policy_and_cannot_be_framed(
    owner_client: Client, app: OAuthApplication
) -> None:
    response = owner_client.get("/oauth/authorize/", start(app).params())
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_the_api_docs_page_runs_no_inline_script(client: Client) -> None:
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    assert "<script>" not in html  # Swagger UI's setup comes from a URL (the split view)


def test_plain_http_to_mcp_is_redirected_to_https_like_the_rest(mcp_url: str, acme: Tenant) -> None:
    with override_settings(SECURE_SSL_REDIRECT=True):
        response = httpx.post(
            mcp_url, json=tool_call("whoami"), headers={**JSON, "Authorization": f"Bearer {acme.key}"}
        )
        metadata = httpx.get(mcp_url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp"))
        behind_proxy = httpx.post(
            mcp_url,
            json=tool_call("whoami"),
            headers={**JSON, "Authorization": f"Bearer {acme.key}", "X-Forwarded-Proto": "https"},
        )
    assert response.status_code == 308
    assert response.headers["location"].startswith("https://127.0.0.1:")
    assert response.headers["location"].endswith("/mcp")
    assert metadata.status_code == 308
    # uvicorn trusts X-Forwarded-Proto from its FORWARDED_ALLOW_IPS (loopback here): a TLS proxy's
    # request is https already, and served.
    assert behind_proxy.status_code == 200


def test_registration_access_tokens_expire(client: Client) -> None:
    body = register(client).json()
    token = OAuthAccessToken.objects.get(application__client_id=body["client_id"])
    assert token.expires < timezone.now() + timedelta(days=31)


def test_the_consent_post_grants_only_what_the_app_asked_for(
    owner_client: Client, app: OAuthApplication, org: Organization
) -> None:
    authz = start(app)
    page = owner_client.get("/oauth/authorize/", authz.params(scope="projects:read"))
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if form.fields[name].widget.is_hidden}
    # Edit the page: ask for more than the app did.
    data.update(
        scope="projects:read documents:write audit:read",
        scopes=["projects:read", "documents:write", "audit:read"],
        organization=org.slug,
        allow="1",
    )
    refused = owner_client.post("/oauth/authorize/", data)
    assert refused.status_code == 200  # the page again, with the error, and no code
    assert "documents:write" in str(refused.context["form"].errors["scopes"])
    data["scopes"] = ["projects:read"]
    token = exchange(Client(), authz, code_from(owner_client.post("/oauth/authorize/", data))["code"]).json()
    assert token["scope"] == "projects:read"


@override_settings(LOGIN_FAILURE_IP_RATE="5/h")
def test_password_spraying_from_one_network_is_paused(client: Client) -> None:
    for n in range(6):
        UserFactory(email=f"victim{n}@example.com")
    statuses = [
        client.post("/login/", {"username": f"victim{n}@example.com", "password": "Summer2026!"}).status_code
        for n in range(6)
    ]
    assert statuses == [200, 200, 200, 200, 200, 429]
    # Even the right password waits, from that network; another network is not affected.
    owner = User.objects.get(email="victim0@example.com")
    assert client.post("/login/", {"username": owner.email, "password": "password"}).status_code == 429
    elsewhere = Client(REMOTE_ADDR="10.9.9.9")
    assert elsewhere.post("/login/", {"username": "victim1@example.com", "password": "x"}).status_code == 200

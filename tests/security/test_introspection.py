"""Item 2: a client can introspect only its own tokens, unless it is a resource server the operator lists."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client, override_settings

from accounts.models import OAuthApplication, Organization, User
from tests.support.oauth import obtain_tokens, register

pytestmark = pytest.mark.django_db


def _confidential(name: str) -> tuple[OAuthApplication, str]:
    body = register(Client(), token_endpoint_auth_method="client_secret_basic", client_name=name).json()
    return OAuthApplication.objects.get(client_id=body["client_id"]), body["client_secret"]


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _introspect(token: str, **client: Any) -> Any:
    return Client(**client).post("/oauth/introspect/", {"token": token})


def test_another_registered_client_learns_nothing_about_a_token(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    token = obtain_tokens(owner, app, org)["access_token"]
    snoop, secret = _confidential("Snoop")

    response = _introspect(token, HTTP_AUTHORIZATION=_basic(snoop.client_id, secret))

    assert response.status_code == 200
    assert response.json() == {"active": False}
    assert owner.email not in response.content.decode()


def test_naming_the_tokens_client_without_its_secret_does_not_help(owner: User, org: Organization) -> None:
    victim, victim_secret = _confidential("Victim")
    token = obtain_tokens(owner, victim, org, client_secret=victim_secret)["access_token"]
    snoop, secret = _confidential("Snoop")
    # Basic auth names the victim (wrong secret); the form carries the snoop's own valid credentials.
    response = Client(HTTP_AUTHORIZATION=_basic(victim.client_id, "wrong")).post(
        "/oauth/introspect/", {"token": token, "client_id": snoop.client_id, "client_secret": secret}
    )
    assert response.json() == {"active": False}


def test_a_client_introspects_its_own_token(owner: User, org: Organization) -> None:
    app, secret = _confidential("Own")
    token = obtain_tokens(owner, app, org, client_secret=secret)["access_token"]
    body = _introspect(token, HTTP_AUTHORIZATION=_basic(app.client_id, secret)).json()
    assert body["active"] is True
    assert body["client_id"] == app.client_id


def test_a_listed_resource_server_introspects_any_token(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    token = obtain_tokens(owner, app, org)["access_token"]
    resource_server, secret = _confidential("Resource server")
    with override_settings(OAUTH_INTROSPECTION_CLIENTS=[resource_server.client_id]):
        body = _introspect(token, HTTP_AUTHORIZATION=_basic(resource_server.client_id, secret)).json()
    assert body["active"] is True
    assert body["client_id"] == app.client_id


def test_introspection_needs_client_credentials_and_a_post(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    token = obtain_tokens(owner, app, org)["access_token"]
    assert _introspect(token).status_code == 401
    # A public client (no secret) cannot authenticate, so it cannot introspect either.
    assert _introspect(token, HTTP_AUTHORIZATION=_basic(app.client_id, "")).status_code == 401
    assert Client().get("/oauth/introspect/").status_code == 405

"""Helpers for driving the authorization server through Django's test client."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.test import Client

from accounts.core.bearer import InvalidToken
from accounts.core.principal import Channel
from accounts.models import OAuthApplication, Organization, User
from accounts.oauth.resolver import resolve_access_token

REDIRECT = "http://127.0.0.1:53682/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def register(client: Client, **metadata: Any) -> Any:
    body = {
        "client_name": "Test MCP client",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **metadata,
    }
    return client.post("/oauth/register/", data=json.dumps(body), content_type="application/json")


@dataclass
class Authorization:
    client_id: str
    verifier: str
    challenge: str
    state: str = "xyz"

    def params(self, **extra: Any) -> dict[str, Any]:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            "state": self.state,
            "resource": settings.MCP_RESOURCE_URL,
            "scope": "projects:read projects:write documents:read documents:write members:read audit:read",
        }
        params.update(extra)
        return {k: v for k, v in params.items() if v is not None}


def start(app: OAuthApplication) -> Authorization:
    verifier, challenge = pkce_pair()
    return Authorization(client_id=app.client_id, verifier=verifier, challenge=challenge)


def consent(
    client: Client,
    authz: Authorization,
    *,
    org: Organization | None,
    scopes: list[str] | None = None,
    project: str = "",
    allow: bool = True,
    form_data: dict[str, Any] | None = None,
    **extra: Any,
) -> Any:
    """GET the consent page, then POST it back like a browser would (hidden fields + choices, and
    `form_data`: the MCP tools, say); `extra` goes into the authorization request."""
    page = client.get("/oauth/authorize/", authz.params(**extra))
    assert page.status_code == 200, page.content[:2000]
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if form.fields[name].widget.is_hidden}
    data["organization"] = org.slug if org else ""
    data["project"] = project
    data["scopes"] = scopes if scopes is not None else form["scopes"].value()
    data.update(form_data or {})
    if allow:
        data["allow"] = "1"
    return client.post("/oauth/authorize/", data)


def code_from(response: Any) -> dict[str, str]:
    assert response.status_code == 302, response.content[:2000]
    query = parse_qs(urlsplit(response["Location"]).query)
    return {k: v[0] for k, v in query.items()}


def exchange(client: Client, authz: Authorization, code: str, **extra: Any) -> Any:
    return client.post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": authz.client_id,
            "code_verifier": authz.verifier,
            **extra,
        },
    )


def refresh(client: Client, client_id: str, refresh_token: str, **extra: Any) -> Any:
    return client.post(
        "/oauth/token/",
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id, **extra},
    )


def obtain_tokens(
    user: User, app: OAuthApplication, org: Organization, *, client_secret: str = "", **kwargs: Any
) -> dict[str, Any]:
    """The whole browser + client flow; returns the token response."""
    browser = Client()
    browser.force_login(user)
    authz = start(app)
    params = code_from(consent(browser, authz, org=org, **kwargs))
    secret = {"client_secret": client_secret} if client_secret else {}
    response = exchange(Client(), authz, params["code"], **secret)
    assert response.status_code == 200, response.content
    return response.json()


def access_token_works(token: str) -> bool:
    """Whether the resource side (MCP, REST API) still accepts this access token."""
    try:
        resolve_access_token(token=token, channel=Channel.MCP, ip=None, user_agent="")
    except InvalidToken:
        return False
    return True

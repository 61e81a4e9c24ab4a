"""The real OAuth flow against a live Gatehouse (uvicorn), driven like a browser plus an MCP client.

Shared by the OAuth tests (tests/oauth/) and the MCP tests: nothing here reaches into the database
or skips a step. A person signs in through /login/ (session cookie + CSRF token), opens the consent
page, picks an organization and submits the form; the client registers (RFC 7591), uses PKCE S256 and
exchanges the code at the token endpoint.

    tokens = run_oauth_flow(base_url, email=..., password=..., org_slug="demo")
    tokens["access_token"]  # "wat_…", for Authorization: Bearer on /mcp or /api/v1/
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

DEFAULT_REDIRECT_URI = "http://127.0.0.1:33418/callback"


class _FormParser(HTMLParser):
    """Collects the fields of one <form> (by id) the way a browser would submit them."""

    def __init__(self, form_id: str | None) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.selects: dict[str, list[str]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = self.form_id is None or a.get("id") == self.form_id
        elif not self.inside:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            if kind not in {"submit", "button"}:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a.get("name")
            self.selects[self._select or ""] = []
        elif tag == "option" and self._select is not None:
            self.selects[self._select].append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None


class MemoryStorage:
    """The MCP SDK's TokenStorage protocol (for OAuthClientProvider), in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None
        self.history: list[OAuthToken] = []

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.history.append(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def public_client(
    *,
    mcp_url: str,
    name: str,
    redirect_uri: str,
    storage: MemoryStorage,
    redirect_handler: Callable[[str], Awaitable[None]],
    callback_handler: Callable[[], Awaitable[AuthorizationCodeResult]],
) -> OAuthClientProvider:
    """The SDK's OAuth for a public client (PKCE, no secret) that registers itself, as desktop apps do."""
    return OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name=name,
            redirect_uris=[redirect_uri],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )


def form_fields(html: str, form_id: str | None = None) -> list[tuple[str, str]]:
    """The successful controls of a form, as a browser would post them (unchecked boxes left out)."""
    parser = _FormParser(form_id)
    parser.feed(html)
    return parser.fields


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _login_form(html: str, email: str, password: str) -> dict[str, str]:
    data = dict(form_fields(html))
    data.update(username=email, password=password)
    return data


def _consent_form(
    html: str, *, org_slug: str, project: str, scopes: list[str] | None
) -> dict[str, str | list[str]]:
    data: dict[str, str | list[str]] = {}
    for key, value in form_fields(html, "consent-form"):
        if key == "scopes":
            data.setdefault("scopes", []).append(value)  # type: ignore[union-attr]
        else:
            data[key] = value
    if scopes is not None:
        data["scopes"] = scopes
    data.update(organization=org_slug, project=project, allow="1")
    return data


def sign_in(client: httpx2.Client, base_url: str, *, email: str, password: str) -> None:
    """Sign in through the real login form (CSRF cookie + token), leaving the session in `client`."""
    page = client.get(urljoin(base_url, "/login/"))
    response = client.post(
        urljoin(base_url, "/login/"),
        data=_login_form(page.text, email, password),
        headers={"Referer": urljoin(base_url, "/login/")},
    )
    if response.status_code != 302:
        raise AssertionError(f"sign-in failed: {response.status_code}")


async def asign_in(client: httpx2.AsyncClient, base_url: str, *, email: str, password: str) -> None:
    """`sign_in` for an async client (the one an MCP SDK redirect_handler uses)."""
    page = await client.get(urljoin(base_url, "/login/"))
    response = await client.post(
        urljoin(base_url, "/login/"),
        data=_login_form(page.text, email, password),
        headers={"Referer": urljoin(base_url, "/login/")},
    )
    if response.status_code != 302:
        raise AssertionError(f"sign-in failed: {response.status_code}")


def consent(
    client: httpx2.Client,
    authorize_url: str,
    *,
    org_slug: str,
    project: str = "",
    scopes: list[str] | None = None,
) -> dict[str, str]:
    """Open the consent page as the signed-in person, allow it for `org_slug`; the redirect's parameters."""
    location = consent_redirect(client, authorize_url, org_slug=org_slug, project=project, scopes=scopes)
    return _query(location)


def consent_redirect(
    client: httpx2.Client,
    authorize_url: str,
    *,
    org_slug: str,
    project: str = "",
    scopes: list[str] | None = None,
) -> str:
    """`consent`, returning where Allow sends the browser: the app's redirect URI with code, state, iss."""
    page = client.get(authorize_url)
    if page.status_code != 200:
        raise AssertionError(f"consent page: {page.status_code} {page.headers.get('location', '')}")
    response = client.post(
        authorize_url.split("?", 1)[0],
        data=_consent_form(page.text, org_slug=org_slug, project=project, scopes=scopes),
        headers={"Referer": authorize_url},
    )
    if response.status_code != 302:
        raise AssertionError(f"consent was not accepted: {response.status_code}")
    return str(response.headers["location"])


async def aconsent(
    client: httpx2.AsyncClient,
    authorize_url: str,
    *,
    org_slug: str,
    project: str = "",
    scopes: list[str] | None = None,
) -> dict[str, str]:
    """`consent` for an async client."""
    page = await client.get(authorize_url)
    if page.status_code != 200:
        raise AssertionError(f"consent page: {page.status_code} {page.headers.get('location', '')}")
    response = await client.post(
        authorize_url.split("?", 1)[0],
        data=_consent_form(page.text, org_slug=org_slug, project=project, scopes=scopes),
        headers={"Referer": authorize_url},
    )
    return _redirect_params(response)


def _redirect_params(response: Any) -> dict[str, str]:
    if response.status_code != 302:
        raise AssertionError(f"consent was not accepted: {response.status_code}")
    return _query(response.headers["location"])


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def run_oauth_flow(
    base_url: str,
    *,
    email: str,
    password: str,
    org_slug: str,
    project: str = "",
    scopes: list[str] | None = None,
    client_name: str = "Test MCP client",
    redirect_uri: str = DEFAULT_REDIRECT_URI,
) -> dict[str, Any]:
    """Discovery, registration, PKCE, sign-in + consent, token: the token response plus `client_id`."""
    with httpx2.Client(timeout=30) as client:
        metadata = client.get(urljoin(base_url, "/.well-known/oauth-authorization-server")).json()
        registration = client.post(
            metadata["registration_endpoint"],
            json={
                "client_name": client_name,
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            },
        )
        registration.raise_for_status()
        client_id = registration.json()["client_id"]
        verifier, challenge = pkce_pair()
        resource = base_url.rstrip("/") + "/mcp"
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": secrets.token_urlsafe(8),
            "resource": resource,
        }
        if scopes is not None:
            query["scope"] = " ".join(scopes)
        sign_in(client, base_url, email=email, password=password)
        params = consent(
            client,
            metadata["authorization_endpoint"] + "?" + urlencode(query),
            org_slug=org_slug,
            project=project,
        )
        if params.get("state") != query["state"] or "code" not in params:
            raise AssertionError(f"unexpected redirect parameters: {sorted(params)}")
        token = client.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "code_verifier": verifier,
                "resource": resource,
            },
        )
        token.raise_for_status()
        return {**token.json(), "client_id": client_id, "token_endpoint": metadata["token_endpoint"]}

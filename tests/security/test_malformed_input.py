"""Item 7: malformed input gets a clear 4xx, never a 500 (the cases a bounded fuzz found, one by one).

The NUL-byte cases failed on PostgreSQL only (it refuses NUL in text); they run on both databases.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.core.permissions import Role
from accounts.models import Document, Membership
from tests.factories import MembershipFactory, ProjectFactory
from tests.support.apikeys import make_key
from tests.support.mcp import Tenant, post, tool_call
from tests.support.oauth import REDIRECT, register

pytestmark = pytest.mark.django_db


def test_the_device_code_grant_is_an_unsupported_grant_type(client: Client) -> None:
    response = client.post(
        "/oauth/token/",
        {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": "x", "device_code": "y"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit", "", "x" * 300])
def test_any_grant_type_but_code_and_refresh_is_refused(client: Client, grant_type: str) -> None:
    response = client.post("/oauth/token/", {"grant_type": grant_type, "client_id": "x"})
    assert response.status_code == 400
    assert response.json()["error"] in {"unsupported_grant_type", "invalid_request"}


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/oauth/token/", "post"),
        ("/oauth/revoke/", "post"),
        ("/oauth/introspect/", "post"),
        ("/oauth/authorize/", "get"),
    ],
)
def test_a_nul_byte_in_client_id_is_a_400(client: Client, path: str, method: str) -> None:
    data = {"client_id": "abc\x00def", "grant_type": "authorization_code", "code": "x", "token": "y"}
    if path == "/oauth/authorize/":
        data.update(response_type="code", redirect_uri=REDIRECT, code_challenge="c" * 43)
    response = getattr(client, method)(path, data)
    assert response.status_code == 400, response.content[:200]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/documents/%00/",
        "/api/v1/projects/a%00b/",
        "/orgs/acme/documents/doc_%00/",
        "/orgs/acme/keys/%00/roll/",
        "/orgs/acme/projects/%00/",
        "/login/?next=/%00",
    ],
)
def test_a_nul_byte_in_a_path_or_query_is_a_400(
    client: Client, owner_membership: Membership, path: str
) -> None:
    client.force_login(owner_membership.user)
    _, key = make_key(owner_membership)
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {key}" if path.startswith("/api/") else "")
    assert response.status_code == 400, response.content[:200]


def test_a_nul_byte_in_a_json_field_is_a_400(client: Client, org: object) -> None:
    membership = MembershipFactory(organization=org, role=Role.OWNER)
    project = ProjectFactory(organization=org)
    _, key = make_key(membership)
    response = client.post(
        f"/api/v1/projects/{project.slug}/documents/",
        data=json.dumps({"title": "a\x00b", "body": "x"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 400
    assert "title" in response.json()["fields"]


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("client_name", None, "invalid_client_metadata"),
        ("client_name", 5, "invalid_client_metadata"),
        ("client_name", ["x"], "invalid_client_metadata"),
        ("client_name", "x" * 256, "invalid_client_metadata"),
        ("redirect_uris", None, "invalid_redirect_uri"),
        ("redirect_uris", "http://127.0.0.1/cb", "invalid_redirect_uri"),
        ("redirect_uris", [5], "invalid_redirect_uri"),
        ("redirect_uris", [], "invalid_redirect_uri"),
        ("grant_types", "authorization_code", "invalid_client_metadata"),
        ("scope", 7, "invalid_client_metadata"),
        ("token_endpoint_auth_method", None, "invalid_client_metadata"),
        ("token_endpoint_auth_method", "private_key_jwt", "invalid_client_metadata"),
    ],
)
def test_registration_with_badly_typed_metadata_is_a_400(
    client: Client, field: str, value: object, error: str
) -> None:
    response = register(client, **{field: value})
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"] == error


def test_a_registration_body_that_is_not_an_object_is_a_400(client: Client) -> None:
    for body in ("[]", "null", "[" * 5000, "not json"):
        response = client.post("/oauth/register/", data=body, content_type="application/json")
        assert response.status_code == 400, body[:20]


@pytest.mark.parametrize(
    "metadata",
    [
        {"grant_types": ["authorization_code", "client_credentials"]},
        {"grant_types": ["implicit"]},
        {"grant_types": ["password"]},
        {"response_types": ["token"]},
    ],
)
def test_registration_refuses_what_the_token_endpoint_refuses(client: Client, metadata: dict) -> None:
    response = register(client, **metadata)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


@pytest.mark.parametrize(
    "uri",
    ["https://user:secret@example.com/callback", "http://me@127.0.0.1:9000/cb", "https://@example.com/cb"],
)
def test_registration_refuses_redirect_uris_with_userinfo(client: Client, uri: str) -> None:
    response = register(client, redirect_uris=[uri])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"


def test_a_deeply_nested_mcp_body_is_a_json_rpc_parse_error(mcp_url: str, acme: Tenant) -> None:
    for body in (b"[" * 5000, b"{" * 5000, b'{"jsonrpc": "2.0", "id": 1, "params": ' + b"[" * 5000):
        response = post(mcp_url, body, acme.key)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == -32700


def test_a_nul_character_in_a_tool_argument_is_a_tool_error(mcp_url: str, acme: Tenant) -> None:
    response = post(
        mcp_url,
        tool_call("create_document", {"project": "handbook", "title": "a\x00b", "body": "x"}),
        acme.key,
    )
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["isError"] is True
    assert "NUL" in result["content"][0]["text"]
    assert not Document.objects.for_org(acme.org).filter(body="x").exists()

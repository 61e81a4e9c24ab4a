"""Discovery: RFC 8414 metadata with exactly what works, one issuer everywhere, CORS, no-store."""

from __future__ import annotations

import json

from django.conf import settings
from django.test import Client

from tests.support.oauth import REDIRECT, register

ISSUER = settings.PUBLIC_URL


def test_metadata_advertises_exactly_what_works(db: None) -> None:
    response = Client().get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    assert response.json() == {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/oauth/authorize/",
        "token_endpoint": f"{ISSUER}/oauth/token/",
        "revocation_endpoint": f"{ISSUER}/oauth/revoke/",
        "introspection_endpoint": f"{ISSUER}/oauth/introspect/",
        "registration_endpoint": f"{ISSUER}/oauth/register/",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": sorted(
            [
                "projects:read",
                "projects:write",
                "documents:read",
                "documents:write",
                "members:read",
                "audit:read",
            ]
        ),
        "client_id_metadata_document_supported": True,
        "authorization_response_iss_parameter_supported": True,
    }


def test_issuer_has_no_path_and_no_trailing_slash() -> None:
    assert ISSUER.count("/") == 2
    assert not ISSUER.endswith("/")
    assert f"{ISSUER}/mcp" == settings.MCP_RESOURCE_URL


def test_metadata_is_the_same_whatever_host_asked(db: None) -> None:
    """The issuer comes from PUBLIC_URL, not from the request (P1: issuer drift)."""
    other = Client(HTTP_HOST="localhost").get("/.well-known/oauth-authorization-server").json()

    assert other["issuer"] == ISSUER
    assert other["token_endpoint"] == f"{ISSUER}/oauth/token/"


def test_cors_on_metadata_token_and_registration(db: None) -> None:
    client = Client(HTTP_ORIGIN="https://inspector.example")
    metadata = client.get("/.well-known/oauth-authorization-server")
    preflight = client.options(
        "/oauth/token/",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    registration = client.post(
        "/oauth/register/",
        data=json.dumps({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
        content_type="application/json",
    )

    assert metadata["Access-Control-Allow-Origin"] == "*"
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert registration["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in registration


def test_no_cors_on_dashboard_pages(db: None) -> None:
    response = Client(HTTP_ORIGIN="https://evil.example").get("/login/")

    assert "Access-Control-Allow-Origin" not in response


def test_error_responses_of_the_token_endpoint_are_not_cached(db: None) -> None:
    client_id = register(Client()).json()["client_id"]
    response = Client().post(
        "/oauth/token/", {"grant_type": "authorization_code", "code": "x", "client_id": client_id}
    )

    assert response.status_code == 400
    assert response["Cache-Control"] == "no-store"

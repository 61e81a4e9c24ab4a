"""The /mcp endpoint over real HTTP: protocol versions, routing, and every HTTP-level refusal."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.test import override_settings

from accounts.core.permissions import Permission
from accounts.models import Membership, Project
from apikeys.services import apikey_revoke
from tests.factories import principal_for
from tests.support.apikeys import make_key
from tests.support.mcp import JSON, MODES, Tenant, call, connect, post, run, tool_call

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
PRM = f"{settings.PUBLIC_URL}/.well-known/oauth-protected-resource/mcp"


@pytest.mark.parametrize("mode", MODES)
def test_sdk_client_in_both_protocol_modes(mcp_url: str, acme: Tenant, mode: str) -> None:
    async def scenario() -> tuple[str, list[str], Any]:
        async with connect(mcp_url, acme.key, mode=mode) as client:
            tools = await client.list_tools()
            result = await client.call_tool("whoami", {})
            return client.protocol_version, [t.name for t in tools.tools], result

    version, names, result = run(scenario())
    assert version == {"auto": "2026-07-28", "legacy": "2025-11-25"}[mode]
    assert "whoami" in names
    assert "delete_document" in names
    assert not result.is_error
    assert result.structured_content["organization"] == {"slug": "acme", "name": "Acme"}
    assert result.structured_content["email"] == "owner@acme.test"
    assert result.structured_content["credential_kind"] == "api_key"


def test_explicit_2025_06_18_initialize_then_a_tool_call(mcp_url: str, acme: Tenant) -> None:
    response = post(mcp_url, INITIALIZE, acme.key, **{"MCP-Protocol-Version": "2025-06-18"})
    assert response.status_code == 200
    assert response.json()["result"]["protocolVersion"] == "2025-06-18"
    assert "Mcp-Session-Id" not in response.headers  # stateless: any worker answers any request
    response = post(mcp_url, tool_call("whoami"), acme.key, **{"MCP-Protocol-Version": "2025-06-18"})
    assert response.status_code == 200
    assert response.json()["result"]["structuredContent"]["organization"]["slug"] == "acme"


def test_no_token_is_401_pointing_at_the_resource_metadata(mcp_url: str) -> None:
    response = post(mcp_url, INITIALIZE)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == f'Bearer resource_metadata="{PRM}"'


@pytest.mark.parametrize("token", ["sk-not-a-real-key", "wat_unknown_token_value_123456", "Basic abc", "x"])
def test_a_bad_token_is_401_invalid_token(mcp_url: str, token: str) -> None:
    response = post(mcp_url, INITIALIZE, token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert f'resource_metadata="{PRM}"' in response.headers["WWW-Authenticate"]


def test_the_sdk_client_sees_the_401_as_an_error(mcp_url: str, db: None) -> None:
    with pytest.raises(Exception):  # noqa: B017, PT011 - the SDK wraps it differently per mode
        run(call(mcp_url, "sk-forged", "whoami"))


def test_protected_resource_metadata_names_our_authorization_server(mcp_base_url: str) -> None:
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        metadata = httpx.get(f"{mcp_base_url}{path}").json()
        assert metadata["resource"] == f"{settings.PUBLIC_URL}/mcp"
        assert metadata["authorization_servers"] == [settings.PUBLIC_URL]
        assert set(metadata["scopes_supported"]) == {
            "projects:read",
            "projects:write",
            "documents:read",
            "documents:write",
            "members:read",
            "audit:read",
        }


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
def test_anything_but_post_is_405(mcp_url: str, acme: Tenant, method: str) -> None:
    response = httpx.request(method, mcp_url, headers={"Authorization": f"Bearer {acme.key}"}, timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_only_exactly_slash_mcp_is_the_endpoint(mcp_base_url: str, acme: Tenant) -> None:
    # /mcp/ is Django's (a 404 page), never a redirect of the POST.
    response = httpx.post(
        f"{mcp_base_url}/mcp/", json=INITIALIZE, headers={"Authorization": f"Bearer {acme.key}"}
    )
    assert response.status_code == 404


def test_a_body_over_the_limit_is_413(mcp_url: str, acme: Tenant) -> None:
    big = json.dumps(tool_call("whoami", {"padding": "x" * (settings.MCP_MAX_BODY_BYTES + 1)})).encode()
    assert post(mcp_url, big, acme.key).status_code == 413

    def chunks() -> Any:  # no Content-Length: counted while reading
        yield big[: len(big) // 2]
        yield big[len(big) // 2 :]

    response = httpx.post(
        mcp_url, content=chunks(), headers={**JSON, "Authorization": f"Bearer {acme.key}"}, timeout=30
    )
    assert response.status_code == 413


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example:80"])
def test_a_foreign_host_is_421(mcp_url: str, acme: Tenant, host: str) -> None:
    assert post(mcp_url, INITIALIZE, acme.key, Host=host).status_code == 421


def test_a_foreign_origin_is_403_and_ours_is_fine(mcp_url: str, acme: Tenant) -> None:
    assert post(mcp_url, INITIALIZE, acme.key, Origin="https://evil.example").status_code == 403
    assert post(mcp_url, INITIALIZE, acme.key, Origin=settings.PUBLIC_URL).status_code == 200


def test_a_key_in_the_query_string_is_refused(mcp_url: str, acme: Tenant) -> None:
    response = post(f"{mcp_url}?api_key={acme.key}", INITIALIZE, acme.key)
    assert response.status_code == 400
    assert acme.key not in response.text


def test_a_tool_needing_a_missing_scope_is_403_insufficient_scope(mcp_url: str, acme: Tenant) -> None:
    _, read_only = make_key(acme.owner, scopes=[Permission.PROJECTS_READ.value])
    response = post(mcp_url, tool_call("create_project", {"name": "Nope"}), read_only)
    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="projects:write"' in challenge
    assert response.json()["scope"] == "projects:write"
    # tools/list hides what the token cannot call; a tool within its scopes runs.
    names = run(_tool_names(mcp_url, read_only))
    assert names == {"whoami", "list_projects", "get_project"}
    assert not run(call(mcp_url, read_only, "list_projects")).is_error


async def _tool_names(url: str, token: str) -> set[str]:
    async with connect(url, token) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


def test_a_viewer_sees_only_the_read_tools_its_role_allows(mcp_url: str, acme: Tenant) -> None:
    names = run(_tool_names(mcp_url, acme.viewer_key))
    assert names == {"whoami", "list_projects", "get_project", "list_documents", "search_documents"} | {
        "get_document",
        "list_members",
    }
    # Its key still carries projects:write, so stepping up scopes would not help: a tool error.
    result = run(call(mcp_url, acme.viewer_key, "create_project", {"name": "Nope"}))
    assert result.is_error
    assert "does not allow “projects:write”" in result.content[0].text
    assert not Project.objects.for_org(acme.org).filter(name="Nope").exists()


@override_settings(MCP_RATE_LIMIT_PER_CREDENTIAL="3/min")
def test_rate_limit_per_credential_is_429_with_retry_after(mcp_url: str, acme: Tenant) -> None:
    statuses = [post(mcp_url, tool_call("whoami"), acme.key).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = post(mcp_url, tool_call("whoami"), acme.key)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Another credential of the same organization has its own count.
    assert post(mcp_url, tool_call("whoami"), acme.viewer_key).status_code == 200


@override_settings(MCP_RATE_LIMIT_PER_ORG="4/min")
def test_rate_limit_per_organization_spans_its_credentials(
    mcp_url: str, acme: Tenant, globex: Tenant
) -> None:
    statuses = [
        post(mcp_url, tool_call("whoami"), key).status_code for key in [acme.key, acme.viewer_key] * 3
    ]
    assert statuses == [200, 200, 200, 200, 429, 429]
    assert "organization" in post(mcp_url, tool_call("whoami"), acme.key).json()["error_description"]
    assert post(mcp_url, tool_call("whoami"), globex.key).status_code == 200


def test_a_revoked_key_fails_on_the_very_next_request(mcp_url: str, acme: Tenant) -> None:
    key, plaintext = make_key(acme.owner)
    assert post(mcp_url, tool_call("whoami"), plaintext).status_code == 200
    apikey_revoke(principal=principal_for(acme.owner), key=key)
    assert post(mcp_url, tool_call("whoami"), plaintext).status_code == 401


def test_a_removed_member_keys_stop_working(mcp_url: str, acme: Tenant) -> None:
    assert post(mcp_url, tool_call("whoami"), acme.viewer_key).status_code == 200
    Membership.objects.for_org(acme.org).filter(pk=acme.viewer.pk).delete()
    assert post(mcp_url, tool_call("whoami"), acme.viewer_key).status_code == 401

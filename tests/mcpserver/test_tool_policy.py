"""A credential's tool policy on /mcp, through the SDK's client, with an API key and an OAuth token.

Hidden: absent from tools/list and answered exactly as an unknown tool (even with invalid arguments,
even without the tool's scope). Needs approval: listed, and its call a tool error that runs nothing.
A change takes effect on the next request, though the worker has the credential cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.core.toolpolicy import READ_ONLY, ToolPolicy, build_tool_policy
from accounts.models import AuditEvent, Document, OAuthApplication
from accounts.oauth.services import connection_set_tool_policy
from apikeys.models import ApiKey
from apikeys.services import apikey_set_tool_policy
from tests.factories import principal_for
from tests.support.apikeys import make_key
from tests.support.mcp import Tenant, connect, post, run, tool_call
from tests.support.oauth import obtain_tokens

POLICY = build_tool_policy(
    preset="custom",
    modes={"list_projects": "allowed", "get_document": "allowed", "delete_document": "approval"},
)
KINDS = ["api_key", "oauth"]


def credential(kind: str, tenant: Tenant, app: OAuthApplication, policy: ToolPolicy) -> str:
    """A token of the tenant's owner with this policy: an sk- key, or a wat_ token from the consent page."""
    if kind == "api_key":
        key, plaintext = make_key(tenant.owner)
        apikey_set_tool_policy(principal=principal_for(tenant.owner), key=key, tool_policy=policy)
        return plaintext
    form = {"tool_preset": policy.preset.value} | {f"tool__{n}": m for n, m in policy.describe().items()}
    return str(obtain_tokens(tenant.owner.user, app, tenant.org, form_data=form)["access_token"])


def set_policy(kind: str, tenant: Tenant, app: OAuthApplication, policy: ToolPolicy) -> None:
    owner = principal_for(tenant.owner)
    if kind == "api_key":
        key = ApiKey.objects.for_org(tenant.org).filter(created_by=tenant.owner.user).latest("created_at")
        apikey_set_tool_policy(principal=owner, key=key, tool_policy=policy)
    else:
        connection_set_tool_policy(
            principal=owner, application=app, user=tenant.owner.user, tool_policy=policy
        )


@pytest.mark.parametrize("kind", KINDS)
def test_hidden_tools_are_not_listed_and_answered_as_unknown(
    mcp_url: str, acme: Tenant, app: OAuthApplication, kind: str, flush_audit: Callable[[], int]
) -> None:
    token = credential(kind, acme, app, POLICY)

    async def scenario() -> tuple[list[str], Any, Any, Any, Any]:
        async with connect(mcp_url, token) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            hidden = await client.call_tool("create_project", {"name": "Planted"})
            invalid = await client.call_tool("create_project", {})  # its arguments are never looked at
            unknown = await client.call_tool("no_such_tool", {})
            me = await client.call_tool("whoami", {})
            return names, hidden, invalid, unknown, me

    names, hidden, invalid, unknown, me = run(scenario())
    assert names == ["whoami", "list_projects", "get_document", "delete_document"]
    for result in (hidden, invalid):
        assert result.is_error
        assert result.model_dump() == unknown.model_dump() | {
            "content": [{**unknown.model_dump()["content"][0], "text": "Unknown tool: create_project"}]
        }
    assert unknown.content[0].text == "Unknown tool: no_such_tool"
    assert me.structured_content["tool_policy"] == {
        "preset": "custom",
        "tools": {"list_projects": "allowed", "get_document": "allowed", "delete_document": "approval"},
    }
    flush_audit()
    outcomes = [
        e.data.get("outcome")
        for e in AuditEvent.objects.for_org(acme.org).filter(channel="mcp").order_by("seq")
        if e.data.get("tool") == "create_project"
    ]
    assert outcomes == ["hidden", "hidden"]  # the audit log tells them apart; the caller cannot


@pytest.mark.parametrize("kind", KINDS)
def test_a_tool_that_needs_approval_is_listed_but_not_run(
    mcp_url: str, acme: Tenant, app: OAuthApplication, kind: str
) -> None:
    token = credential(kind, acme, app, POLICY)

    async def scenario() -> Any:
        async with connect(mcp_url, token) as client:
            return await client.call_tool("delete_document", {"document": acme.document.public_id})

    result = run(scenario())
    assert result.is_error
    text = result.content[0].text
    assert "needs a person's approval" in text
    assert ("Connected apps" if kind == "oauth" else "API keys") in text
    assert Document.objects.for_org(acme.org).filter(pk=acme.document.pk).exists()


def test_a_hidden_tool_is_not_answered_with_a_scope_step_up(mcp_url: str, acme: Tenant) -> None:
    """A read-only key calling a write tool normally gets 403 insufficient_scope; hidden, it is unknown."""
    key, plaintext = make_key(acme.owner, scopes=["projects:read"])
    visible = post(mcp_url, tool_call("create_project", {"name": "x"}), plaintext)
    assert visible.status_code == 403
    apikey_set_tool_policy(principal=principal_for(acme.owner), key=key, tool_policy=READ_ONLY)
    hidden = post(mcp_url, tool_call("create_project", {"name": "x"}), plaintext)
    unknown = post(mcp_url, tool_call("no_such_tool", {"name": "x"}), plaintext)
    assert hidden.status_code == unknown.status_code == 200
    assert hidden.json() == {
        **unknown.json(),
        "result": {
            **unknown.json()["result"],
            "content": [{"type": "text", "text": "Unknown tool: create_project"}],
        },
    }


@pytest.mark.parametrize("kind", KINDS)
def test_a_change_is_obeyed_on_the_next_request_though_the_credential_is_cached(
    mcp_url: str, acme: Tenant, app: OAuthApplication, kind: str
) -> None:
    token = credential(kind, acme, app, ToolPolicy())

    async def tools() -> list[str]:
        async with connect(mcp_url, token) as client:
            return [tool.name for tool in (await client.list_tools()).tools]

    everything = run(tools())
    assert "delete_document" in everything
    assert run(tools()) == everything  # answered from the worker's credential cache
    set_policy(kind, acme, app, READ_ONLY)
    read_only = run(tools())
    assert "delete_document" not in read_only
    assert "get_document" in read_only
    set_policy(kind, acme, app, POLICY)
    assert run(tools()) == ["whoami", "list_projects", "get_document", "delete_document"]

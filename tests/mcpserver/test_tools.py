"""Each tool over real HTTP: results, pagination, validation, audit; resources, prompts, completion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference, ResourceTemplateReference

from accounts.core.permissions import Permission
from accounts.models import AuditEvent, Document, Project
from mcpserver.gateway import McpGateway
from mcpserver.registry import REGISTRY
from tests.factories import DocumentFactory, ProjectFactory
from tests.support.apikeys import make_key
from tests.support.mcp import Tenant, call, connect, run


def tool_events(tenant: Tenant, flush_audit: Callable[[], int]) -> list[AuditEvent]:
    """The MCP events of the tenant, in the order they happened (reads' are written in batches)."""
    flush_audit()
    return list(AuditEvent.objects.for_org(tenant.org).filter(channel="mcp").order_by("seq"))


def test_every_tool_is_described_for_a_model(mcp_url: str, acme: Tenant) -> None:
    async def scenario() -> Any:
        async with connect(mcp_url, acme.key) as client:
            return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in run(scenario())}
    assert set(tools) == set(REGISTRY)
    for name, tool in tools.items():
        assert len(tool.description or "") > 30, name
        assert tool.output_schema is not None, name  # structured content
        assert tool.annotations is not None, name
        assert tool.annotations.read_only_hint == name.startswith(("whoami", "list_", "get_", "search_")), (
            name
        )
    assert tools["delete_document"].annotations.destructive_hint is True
    assert tools["update_document"].annotations.idempotent_hint is True
    assert tools["create_project"].annotations.idempotent_hint is False
    assert "organization" not in str(tools["list_projects"].input_schema)  # never an argument


def test_list_projects_pages_with_a_cursor(mcp_url: str, acme: Tenant) -> None:
    for n in range(3):
        ProjectFactory(organization=acme.org, slug=f"p{n}")

    async def scenario() -> list[list[str]]:
        pages, cursor = [], None
        async with connect(mcp_url, acme.key) as client:
            while True:
                args: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
                result = (await client.call_tool("list_projects", args)).structured_content
                pages.append([p["slug"] for p in result["projects"]])
                cursor = result["next_cursor"]
                if cursor is None:
                    return pages

    assert run(scenario()) == [["handbook", "p0"], ["p1", "p2"]]


def test_a_forged_cursor_is_an_argument_error(mcp_url: str, acme: Tenant) -> None:
    result = run(call(mcp_url, acme.key, "list_documents", {"project": "handbook", "cursor": "forged"}))
    assert result.is_error
    assert "“cursor”" in result.content[0].text


def test_create_project_audits_once_in_the_write_transaction_tagged_with_the_tool(
    mcp_url: str, acme: Tenant, mcp_gateway: McpGateway, flush_audit: Callable[[], int]
) -> None:
    result = run(call(mcp_url, acme.key, "create_project", {"name": "Research", "description": "Notes"}))
    assert not result.is_error
    assert result.structured_content["slug"] == "research"
    assert Project.objects.for_org(acme.org).filter(slug="research", description="Notes").exists()
    [event] = AuditEvent.objects.for_org(acme.org).filter(channel="mcp")  # committed with the project
    assert event.action == "project.created"
    assert event.data["tool"] == "create_project"
    assert event.credential_kind == "api_key"
    assert event.actor_id == acme.owner.user_id
    assert event.hash == ""
    assert flush_audit() == 1  # noted for the background writer after commit
    event.refresh_from_db()
    assert event.hash


def test_invalid_arguments_name_the_argument_and_change_nothing(
    mcp_url: str, acme: Tenant, flush_audit: Callable[[], int]
) -> None:
    before = Project.objects.for_org(acme.org).count()

    async def scenario() -> list[Any]:
        async with connect(mcp_url, acme.key) as client:
            return [
                await client.call_tool("create_project", {"name": "x" * 101}),  # schema: too long
                await client.call_tool(
                    "create_project", {"name": "Dup", "slug": "handbook"}
                ),  # service: taken
                await client.call_tool("create_project", {}),  # missing
                await client.call_tool("list_projects", {"limit": "many"}),  # wrong type
                await client.call_tool("get_project", {"project": "../etc"}),  # pattern
                await client.call_tool("no_such_tool", {}),
            ]

    results = run(scenario())
    texts = [r.content[0].text for r in results]
    assert all(r.is_error for r in results)
    assert "“name”" in texts[0]
    assert "“slug”" in texts[1]
    assert "handbook" in texts[1]
    assert "“name”" in texts[2]
    assert "“limit”" in texts[3]
    assert "“project”" in texts[4]
    assert "Traceback" not in " ".join(texts)
    assert Project.objects.for_org(acme.org).count() == before
    outcomes = [(e.action, e.data["tool"], e.data["outcome"]) for e in tool_events(acme, flush_audit)]
    assert outcomes == [
        ("mcp.tool_called", "create_project", "invalid_arguments"),
        ("mcp.tool_called", "create_project", "invalid_arguments"),
        ("mcp.tool_called", "create_project", "invalid_arguments"),
        ("mcp.tool_called", "list_projects", "invalid_arguments"),
        ("mcp.tool_called", "get_project", "invalid_arguments"),
        ("mcp.tool_called", "no_such_tool", "error"),
    ]


def test_update_and_archive_a_project(mcp_url: str, acme: Tenant, flush_audit: Callable[[], int]) -> None:
    async def scenario() -> list[Any]:
        async with connect(mcp_url, acme.key) as client:
            return [
                await client.call_tool("update_project", {"project": "handbook", "description": "New"}),
                await client.call_tool(
                    "update_project", {"project": "handbook", "description": "New"}
                ),  # no-op
                await client.call_tool("archive_project", {"project": "handbook"}),
                await client.call_tool("create_document", {"project": "handbook", "title": "Late"}),
                await client.call_tool("archive_project", {"project": "handbook", "archived": False}),
            ]

    updated, noop, archived, refused, restored = run(scenario())
    assert updated.structured_content["description"] == "New"
    assert updated.structured_content["name"] == acme.project.name  # omitted fields kept
    assert not noop.is_error
    assert archived.structured_content["archived"] is True
    assert refused.is_error
    assert "archived" in refused.content[0].text
    assert restored.structured_content["archived"] is False
    actions = [(e.action, e.data.get("tool"), e.data.get("outcome")) for e in tool_events(acme, flush_audit)]
    assert actions == [
        ("project.updated", "update_project", None),
        ("mcp.tool_called", "update_project", "ok"),  # nothing changed: still one event for the call
        ("project.archived", "archive_project", None),
        ("mcp.tool_called", "create_document", "invalid_arguments"),
        ("project.unarchived", "archive_project", None),
    ]
    assert not Document.objects.for_org(acme.org).filter(title="Late").exists()


def test_documents_from_list_to_delete(mcp_url: str, acme: Tenant, flush_audit: Callable[[], int]) -> None:
    DocumentFactory(project=acme.project, title="Pricing", body="Our pricing has three tiers.")

    async def scenario() -> dict[str, Any]:
        async with connect(mcp_url, acme.key) as client:
            out = {
                "list": await client.call_tool("list_documents", {"project": "handbook"}),
                "search": await client.call_tool("search_documents", {"query": "pricing tiers"}),
                "create": await client.call_tool(
                    "create_document", {"project": "handbook", "title": "Plan", "body": "# Plan\n\nShip it."}
                ),
            }
            new_id = out["create"].structured_content["id"]
            out["get"] = await client.call_tool("get_document", {"document": new_id})
            out["update"] = await client.call_tool("update_document", {"document": new_id, "title": "Plan B"})
            out["delete"] = await client.call_tool("delete_document", {"document": new_id})
            out["gone"] = await client.call_tool("get_document", {"document": new_id})
            return out

    out = run(scenario())
    titles = [d["title"] for d in out["list"].structured_content["documents"]]
    assert set(titles) == {"acme welcome", "Pricing"}
    [hit] = out["search"].structured_content["documents"]
    assert hit["title"] == "Pricing"
    assert "pricing" in hit["snippet"].lower()
    assert out["get"].structured_content["body"] == "# Plan\n\nShip it."
    assert out["get"].structured_content["uri"].startswith("gatehouse://projects/handbook/documents/doc_")
    assert out["update"].structured_content["title"] == "Plan B"
    assert out["update"].structured_content["body"] == "# Plan\n\nShip it."  # omitted: kept
    assert out["delete"].structured_content["deleted"] is True
    assert out["gone"].is_error
    assert not Document.objects.for_org(acme.org).filter(title__startswith="Plan").exists()
    writes = [
        (e.action, e.data["tool"]) for e in tool_events(acme, flush_audit) if e.action != "mcp.tool_called"
    ]
    assert writes == [
        ("document.created", "create_document"),
        ("document.updated", "update_document"),
        ("document.deleted", "delete_document"),
    ]


def test_members_and_audit_events(mcp_url: str, acme: Tenant, flush_audit: Callable[[], int]) -> None:
    async def calls() -> Any:
        async with connect(mcp_url, acme.key) as client:
            await client.call_tool("whoami", {})
            return await client.call_tool("list_members", {})

    async def audit() -> Any:
        async with connect(mcp_url, acme.key) as client:
            return await client.call_tool(
                "list_audit_events", {"channel": "mcp", "action": "mcp.tool_called"}
            )

    members = run(calls())
    flush_audit()  # reads' events are written in batches, a moment after the answer
    events = run(audit())
    assert {m["email"]: m["role"] for m in members.structured_content["members"]} == {
        "owner@acme.test": "owner",
        "viewer@acme.test": "viewer",
    }
    tools = [e["data"]["tool"] for e in events.structured_content["events"]]
    assert tools == ["list_members", "whoami"]  # newest first
    assert all(e["channel"] == "mcp" for e in events.structured_content["events"])


def test_a_project_restricted_key_sees_one_project(mcp_url: str, acme: Tenant) -> None:
    other = ProjectFactory(organization=acme.org, slug="secret")
    DocumentFactory(project=other, title="Secret plans", body="Shared words here too.")
    _, restricted = make_key(
        acme.owner,
        scopes=[Permission.PROJECTS_READ.value, Permission.DOCUMENTS_READ.value],
        project=acme.project,
    )

    async def scenario() -> list[Any]:
        async with connect(mcp_url, restricted) as client:
            return [
                await client.call_tool("whoami", {}),
                await client.call_tool("list_projects", {"include_archived": True}),
                await client.call_tool("get_project", {"project": "secret"}),
                await client.call_tool("search_documents", {"query": "Shared"}),
                (await client.list_resources()).resources,
            ]

    whoami, projects, secret, search, resources = run(scenario())
    assert whoami.structured_content["project"] == "handbook"
    assert [p["slug"] for p in projects.structured_content["projects"]] == ["handbook"]
    assert secret.is_error
    assert [d["title"] for d in search.structured_content["documents"]] == ["acme welcome"]
    assert [r.title for r in resources] == ["acme welcome"]


def test_resources_list_pages_and_read(mcp_url: str, acme: Tenant) -> None:
    for n in range(55):
        DocumentFactory(project=acme.project, title=f"Doc {n}", body=f"Body {n}")

    async def scenario() -> tuple[list[str], str, Any]:
        uris: list[str] = []
        async with connect(mcp_url, acme.key) as client:
            page = await client.list_resources()
            uris += [str(r.uri) for r in page.resources]
            assert page.next_cursor
            page = await client.list_resources(cursor=page.next_cursor)
            uris += [str(r.uri) for r in page.resources]
            assert page.next_cursor is None
            uri = f"gatehouse://projects/handbook/documents/{acme.document.public_id}"
            read = await client.read_resource(uri)
            templates = await client.list_resource_templates()
            return uris, read.contents[0].text, templates

    uris, text, templates = run(scenario())
    assert len(uris) == len(set(uris)) == 57  # 55 + welcome + the archived project's document
    assert text == acme.document.body
    assert (
        templates.resource_templates[0].uri_template == "gatehouse://projects/{project}/documents/{document}"
    )


def test_a_resource_in_the_wrong_project_is_not_found(mcp_url: str, acme: Tenant) -> None:
    async def scenario() -> str:
        async with connect(mcp_url, acme.key) as client:
            uri = f"gatehouse://projects/{acme.archived.slug}/documents/{acme.document.public_id}"
            try:
                await client.read_resource(uri)
            except MCPError as error:
                return str(error)
            return "read"

    assert "No document" in run(scenario())


def test_prompts_and_completion(mcp_url: str, acme: Tenant) -> None:
    async def scenario() -> tuple[Any, Any, Any, Any]:
        async with connect(mcp_url, acme.key) as client:
            prompts = await client.list_prompts()
            summary = await client.get_prompt("summarize_project", {"project": "handbook"})
            slugs = await client.complete(
                PromptReference(type="ref/prompt", name="summarize_project"),
                {"name": "project", "value": "h"},
            )
            ids = await client.complete(
                ResourceTemplateReference(
                    type="ref/resource", uri="gatehouse://projects/{project}/documents/{document}"
                ),
                {"name": "document", "value": "doc_"},
                context_arguments={"project": "handbook"},
            )
            return prompts, summary, slugs, ids

    prompts, summary, slugs, ids = run(scenario())
    assert {p.name for p in prompts.prompts} == {"summarize_project", "draft_document"}
    assert "acme welcome" in summary.messages[0].content.text
    assert slugs.completion.values == ["handbook"]
    assert ids.completion.values == [acme.document.public_id]


def test_prompt_mistakes_are_invalid_params_with_the_reason(mcp_url: str, acme: Tenant) -> None:
    async def scenario() -> list[tuple[int, str]]:
        errors = []
        async with connect(mcp_url, acme.key) as client:
            for name, arguments in (
                ("no_such_prompt", {}),
                ("summarize_project", {}),
                ("summarize_project", {"project": "no-such-project"}),
            ):
                try:
                    await client.get_prompt(name, arguments)
                except MCPError as error:
                    errors.append((error.error.code, error.error.message))
        return errors

    errors = run(scenario())
    assert [code for code, _ in errors] == [-32602, -32602, -32602]
    assert "Unknown prompt: no_such_prompt" in errors[0][1]
    assert "project" in errors[1][1]
    assert "No project with the slug no-such-project" in errors[2][1]


def test_server_reports_its_version(mcp_url: str, acme: Tenant) -> None:
    async def scenario() -> str:
        async with connect(mcp_url, acme.key, mode="legacy") as client:
            assert client.server_info is not None
            return client.server_info.version

    assert run(scenario()) == "0.1.0"

"""Cross-tenant: every tool, resource and completion, called with another organization's ids and slugs.

Each answer must be exactly what a missing id or slug gets, no row of the other organization may
appear in any list, and nothing of the other organization may change.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp_types import PromptReference

from accounts.models import AuditEvent, Document, Membership, Project
from mcpserver.registry import REGISTRY
from tests.support.mcp import Tenant, connect, make_tenant, run


def snapshot(tenant: Tenant) -> dict[str, Any]:
    """Everything of an organization a tool could change."""
    org = tenant.org
    return {
        "projects": list(Project.objects.for_org(org).order_by("pk").values()),
        "documents": list(Document.objects.for_org(org).order_by("pk").values()),
        "members": list(Membership.objects.for_org(org).order_by("pk").values()),
        "events": AuditEvent.objects.for_org(org).count(),
    }


def attacks(victim: Tenant) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(tool, arguments naming the victim's objects, the same arguments naming objects that do not exist)."""
    slug, missing_slug = victim.archived.slug, "no-such-project"
    doc, missing_doc = victim.document.public_id, "doc_nosuchdocument0"
    return [
        ("get_project", {"project": slug}, {"project": missing_slug}),
        ("update_project", {"project": slug, "name": "Hacked"}, {"project": missing_slug, "name": "Hacked"}),
        (
            "archive_project",
            {"project": slug, "archived": False},
            {"project": missing_slug, "archived": False},
        ),
        ("list_documents", {"project": slug}, {"project": missing_slug}),
        ("search_documents", {"query": "Old", "project": slug}, {"query": "Old", "project": missing_slug}),
        ("get_document", {"document": doc}, {"document": missing_doc}),
        ("update_document", {"document": doc, "body": "Hacked"}, {"document": missing_doc, "body": "Hacked"}),
        ("delete_document", {"document": doc}, {"document": missing_doc}),
        (
            "create_document",
            {"project": slug, "title": "Planted"},
            {"project": missing_slug, "title": "Planted"},
        ),
        ("list_audit_events", {"project": slug}, {"project": missing_slug}),
    ]


@pytest.mark.parametrize("direction", ["acme->globex", "globex->acme"])
def test_no_tool_reaches_another_organization(mcp_url: str, direction: str) -> None:
    tenants = {"acme": make_tenant("acme"), "globex": make_tenant("globex")}
    attacker_name, victim_name = direction.split("->")
    attacker, victim = tenants[attacker_name], tenants[victim_name]
    before = snapshot(victim)
    victim_ids = {victim.document.public_id, victim.archived_document.public_id}
    victim_words = {victim.org.slug, victim.owner.user.email, victim.viewer.user.email}

    async def scenario() -> dict[str, Any]:
        out: dict[str, Any] = {"attacks": []}
        async with connect(mcp_url, attacker.key) as client:
            for tool, theirs, missing in attacks(victim):
                got = await client.call_tool(tool, theirs)
                expected = await client.call_tool(tool, missing)
                out["attacks"].append((tool, got, expected))
            out["lists"] = [
                await client.call_tool("whoami", {}),
                await client.call_tool("list_projects", {"include_archived": True}),
                await client.call_tool("search_documents", {"query": victim.org.slug}),
                await client.call_tool("search_documents", {"query": "Shared words"}),
                await client.call_tool("list_members", {}),
                await client.call_tool("list_audit_events", {}),
            ]
            completion = await client.complete(
                PromptReference(type="ref/prompt", name="summarize_project"),
                {"name": "project", "value": victim.archived.slug[:3]},
            )
            out["completion"] = completion.completion.values
            # Slugs are per organization: the victim's slug is free for the attacker's own project.
            out["created"] = await client.call_tool(
                "create_project", {"name": "Mine", "slug": victim.archived.slug}
            )
            resources = await client.list_resources()
            out["resources"] = [str(r.uri) for r in resources.resources]
            uri = f"gatehouse://projects/{victim.project.slug}/documents/{victim.document.public_id}"
            try:
                await client.read_resource(uri)
                out["read"] = "read"
            except Exception as error:
                out["read"] = str(error)
        return out

    out = run(scenario())
    listed = {"whoami", "list_projects", "search_documents", "list_members", "create_project"}
    assert {tool for tool, _, _ in out["attacks"]} | listed == set(REGISTRY), "every tool is attacked"
    for tool, got, expected in out["attacks"]:
        assert got.is_error, tool
        assert got.content[0].text == expected.content[0].text, tool  # exactly like a missing one
        assert victim.org.slug not in got.content[0].text, tool
    for result in out["lists"]:
        assert not result.is_error
        text = str(result.structured_content)
        assert not any(word in text for word in victim_words | victim_ids), text
    assert out["lists"][0].structured_content["organization"]["slug"] == attacker.org.slug
    assert not out["created"].is_error
    assert Project.objects.for_org(attacker.org).filter(slug=victim.archived.slug, name="Mine").exists()
    assert not any(victim.document.public_id in uri for uri in out["resources"])
    assert out["read"] != "read"
    assert victim.document.body not in out["read"]
    assert not any(value == victim.archived.slug for value in out["completion"])
    assert snapshot(victim) == before

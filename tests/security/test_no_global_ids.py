"""Item 10: only per-organization identifiers leave the server; global sequences stay inside."""

from __future__ import annotations

import base64

from accounts.models import AuditEvent
from tests.factories import AuditEventFactory, OrganizationFactory
from tests.support.mcp import Tenant, post, tool_call


def _decoded(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def test_the_mcp_audit_tool_shows_the_organizations_sequence_not_the_global_id(
    mcp_url: str, acme: Tenant, mcp_gateway: object
) -> None:
    other = OrganizationFactory()
    for _ in range(5):  # another tenant's activity moves the global id
        AuditEventFactory(organization=other)
    post(mcp_url, tool_call("whoami"), acme.key)
    mcp_gateway.sealer.seal_now()  # type: ignore[attr-defined]

    response = post(mcp_url, tool_call("list_audit_events", {"limit": 1}), acme.key)
    result = response.json()["result"]["structuredContent"]
    [event] = result["events"]
    assert "id" not in event
    own = AuditEvent.objects.for_org(acme.org).get(action="mcp.tool_called", data__tool="whoami")
    assert event["action"] == "mcp.tool_called"
    assert event["seq"] == own.seq == AuditEvent.objects.for_org(acme.org).exclude(seq=None).count()


def test_cursors_do_not_carry_row_ids(mcp_url: str, acme: Tenant) -> None:
    for _ in range(3):
        post(mcp_url, tool_call("whoami"), acme.key)
    response = post(mcp_url, tool_call("list_audit_events", {"limit": 1}), acme.key)
    cursor = response.json()["result"]["structuredContent"]["next_cursor"]
    newest = AuditEvent.objects.for_org(acme.org).order_by("-id").first()
    assert newest is not None
    assert f'"{newest.pk}"'.encode() not in _decoded(cursor)
    assert newest.created_at.isoformat()[:19].encode() not in _decoded(cursor)

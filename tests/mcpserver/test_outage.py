"""The database unreachable during an MCP request: 503 before the SDK, a JSON-RPC error inside it.

Never an HTTP 500, never the driver's message (host, port) in an answer, never a second database call
that fails on the way out: the audit event of the failed call waits in the journal. A real PostgreSQL
stopped and started again: tests/test_outage_e2e.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from unittest import mock

import pytest
from django.db import OperationalError

from accounts.audit.journal import MAX_ATTEMPTS
from accounts.audit.models import AuditAction
from accounts.audit.record import read_event
from accounts.core.principal import Principal
from accounts.models import AuditEvent
from mcpserver.gateway import McpGateway
from mcpserver.sealer import AuditSealer
from tests.support.mcp import Tenant, post, tool_call
from tests.support.outage import DRIVER_TEXT, assert_nothing_internal, database_down

DESCRIPTION = "The database is unavailable; try again in a few seconds."
UNAVAILABLE = {"code": -32603, "message": DESCRIPTION, "data": {"retry_after": 5}}


def _assert_gateway_503(response: object) -> None:
    assert response.status_code == 503  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/json"  # type: ignore[attr-defined]
    assert response.headers["retry-after"] == "5"  # type: ignore[attr-defined]
    assert response.json() == {  # type: ignore[attr-defined]
        "error": "temporarily_unavailable",
        "error_description": DESCRIPTION,
    }
    assert_nothing_internal(response.text)  # type: ignore[attr-defined]


def test_uncached_credential_is_a_503_before_the_sdk(
    mcp_url: str, acme: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    with database_down(), caplog.at_level(logging.INFO):
        response = post(mcp_url, tool_call("whoami"), acme.key)
    _assert_gateway_503(response)
    assert [r.getMessage() for r in caplog.records if r.name == "accounts.core.outage"] == [
        "Database unavailable (MCP authentication): OperationalError"
    ]


def test_cached_credential_whose_generation_cannot_be_read_is_a_503(
    mcp_url: str, acme: Tenant, mcp_gateway: McpGateway
) -> None:
    assert post(mcp_url, tool_call("whoami"), acme.key).status_code == 200  # now cached
    # The generation reader answers None when its own connection fails (mcpserver/generations.py);
    # the gateway then resolves the token in full, in the pool, which fails too.
    failed_read = mock.AsyncMock(return_value=None)
    with database_down(), mock.patch.object(mcp_gateway.generations, "read", failed_read):
        response = post(mcp_url, tool_call("whoami"), acme.key)
    failed_read.assert_awaited()
    _assert_gateway_503(response)


def test_inside_a_tool_call_is_a_json_rpc_internal_error_and_the_failure_is_audited(
    mcp_url: str, acme: Tenant, flush_audit: Callable[[], int]
) -> None:
    assert post(mcp_url, tool_call("whoami"), acme.key).status_code == 200  # cached: no query to pass
    flush_audit()
    with database_down():
        response = post(mcp_url, tool_call("list_projects"), acme.key)
    assert response.status_code == 200
    assert response.json() == {"jsonrpc": "2.0", "id": 2, "error": UNAVAILABLE}
    assert_nothing_internal(response.text)

    flush_audit()  # the event waited in the journal; the database is back
    event = AuditEvent.objects.for_org(acme.org).filter(channel="mcp").latest("seq")
    assert event.action == "mcp.tool_called"
    assert event.data == {"tool": "list_projects", "outcome": "unavailable", "detail": DESCRIPTION}


def test_a_full_journal_makes_no_unguarded_second_call(
    mcp_url: str, acme: Tenant, mcp_gateway: McpGateway, caplog: pytest.LogCaptureFixture
) -> None:
    assert post(mcp_url, tool_call("whoami"), acme.key).status_code == 200
    # A full journal refuses the failure's event: it must be saved at once, in the database that is down.
    with (
        database_down(),
        mock.patch.object(mcp_gateway.sealer.journal, "max_pending", 0),
        caplog.at_level(logging.INFO),
    ):
        response = post(mcp_url, tool_call("list_projects"), acme.key)
        whoami = post(mcp_url, tool_call("whoami"), acme.key)  # succeeds, but its event cannot be saved
    assert response.json()["error"] == UNAVAILABLE
    assert_nothing_internal(response.text)
    assert whoami.json()["error"] == UNAVAILABLE  # no result given out unaudited
    assert "lost the audit event of an MCP tools/call: database unavailable" in caplog.text


@pytest.mark.parametrize(
    "message",
    [
        {"jsonrpc": "2.0", "id": 3, "method": "resources/list", "params": {}},
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "resources/read",
            "params": {"uri": "gatehouse://projects/handbook/documents/doc_x"},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "prompts/get",
            "params": {"name": "summarize_project", "arguments": {"project": "handbook"}},
        },
    ],
    ids=["resources-list", "resources-read", "prompts-get"],
)
def test_other_requests_are_json_rpc_internal_errors(
    mcp_url: str, acme: Tenant, message: dict[str, object]
) -> None:
    assert post(mcp_url, tool_call("whoami"), acme.key).status_code == 200
    with database_down():
        response = post(mcp_url, message, acme.key)
    assert response.status_code == 200
    assert response.json() == {"jsonrpc": "2.0", "id": 3, "error": UNAVAILABLE}
    assert_nothing_internal(response.text)


def test_recovery_needs_nothing_once_the_database_is_back(mcp_url: str, acme: Tenant) -> None:
    with database_down():
        assert post(mcp_url, tool_call("list_projects"), acme.key).status_code == 503
    response = post(mcp_url, tool_call("list_projects"), acme.key)
    assert response.status_code == 200
    assert "error" not in response.json()
    assert not response.json()["result"].get("isError")


@pytest.mark.django_db
def test_the_audit_writer_keeps_its_events_through_an_outage(
    owner_principal: Principal, caplog: pytest.LogCaptureFixture
) -> None:
    """The journal gives up on an organization after MAX_ATTEMPTS failed flushes (2 s at the default
    interval); an outage longer than that must not cost the events waiting in it."""
    sealer = AuditSealer()
    assert sealer.journal.add(
        read_event(principal=owner_principal, action=AuditAction.MCP_TOOL_CALLED, data={"tool": "whoami"})
    )
    unreachable = mock.Mock(**{"ensure_connection.side_effect": OperationalError(DRIVER_TEXT)})
    with (
        database_down(),
        mock.patch("mcpserver.sealer.connection", unreachable),
        caplog.at_level(logging.INFO),
    ):
        for _ in range(MAX_ATTEMPTS + 5):
            assert sealer.seal_when_reachable() == 0
    assert len(sealer.journal) == 1
    assert caplog.text.count("audit writer: database unavailable; 1 events kept") == 1

    assert sealer.seal_when_reachable() == 1  # back: written and sealed
    assert not sealer.waiting
    event = AuditEvent.objects.for_org(owner_principal.organization).get(action=AuditAction.MCP_TOOL_CALLED)
    assert event.data == {"tool": "whoami"}
    assert event.hash

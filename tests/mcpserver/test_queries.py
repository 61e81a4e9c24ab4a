"""Query counts of whole MCP requests, counted inside the live server (auth, tool, audit), and of sealing.

Every query of the server's threads is recorded through an execute wrapper installed on the
connections the MCP pool holds and on each new connection. The background audit sealer is kept out
of the counts (its `note` is replaced by a list), so a sealing pass cannot land in a request's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from accounts.audit.chain import verify_chain
from accounts.core.permissions import Permission
from accounts.models import AuditEvent
from mcpserver.db import pool_connections
from mcpserver.gateway import McpGateway
from mcpserver.sealer import AuditSealer
from tests.factories import DocumentFactory, MembershipFactory, ProjectFactory
from tests.support.apikeys import make_key
from tests.support.mcp import Tenant, post, tool_call

# SQLite logs its "BEGIN IMMEDIATE"; PostgreSQL's BEGIN is implicit and not logged.
BEGIN = 1 if connection.vendor == "sqlite" else 0
# The audit event's INSERT in its transaction. Sealing is not on the request path: the commit only
# notes the organization for the MCP app's background sealer (mcpserver/sealer.py).
AUDIT = BEGIN + 1


class ServerQueries:
    def __init__(self) -> None:
        self.sql: list[str] = []
        self.noted: list[int] = []  # organizations handed to the background sealer
        self.lock = threading.Lock()

    def wrapper(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            with self.lock:
                self.sql.append(sql)
        return execute(sql, params, many, context)

    def of(self, url: str, body: dict[str, Any], key: str) -> list[str]:
        """The queries one request costs the server."""
        self.sql.clear()
        self.noted.clear()
        response = post(url, body, key)
        assert response.status_code == 200, response.text
        assert "error" not in response.json(), response.text
        return list(self.sql)


@pytest.fixture
def server_queries(mcp_gateway: McpGateway, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerQueries]:
    queries = ServerQueries()
    monkeypatch.setattr(mcp_gateway.sealer, "note", queries.noted.append)

    def install(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.execute_wrappers.append(queries.wrapper)

    connection_created.connect(install)
    held = pool_connections()  # connections the server's threads keep open between requests
    for wrapper in held:
        wrapper.execute_wrappers.append(queries.wrapper)
    try:
        yield queries
    finally:
        connection_created.disconnect(install)
        for wrapper in held:
            wrapper.execute_wrappers.remove(queries.wrapper)


def test_authentication_is_one_query(mcp_url: str, acme: Tenant, server_queries: ServerQueries) -> None:
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    server_queries.of(mcp_url, listing, acme.key)  # first use of the key also records last_used_at
    assert len(server_queries.of(mcp_url, listing, acme.key)) == 1


@pytest.mark.parametrize(
    ("tool", "arguments", "reads"),
    [
        ("whoami", {}, 0),
        ("list_projects", {}, 1),
        ("get_project", {"project": "handbook"}, 1),
        ("list_documents", {"project": "handbook"}, 2),
        ("search_documents", {"query": "welcome"}, 1),
        ("list_members", {}, 1),
        ("list_audit_events", {}, 1),
    ],
)
def test_a_read_tool_costs_a_small_constant(
    mcp_url: str,
    acme: Tenant,
    server_queries: ServerQueries,
    tool: str,
    arguments: dict[str, Any],
    reads: int,
) -> None:
    server_queries.of(mcp_url, tool_call("whoami"), acme.key)  # warm: last_used_at
    queries = server_queries.of(mcp_url, tool_call(tool, arguments), acme.key)
    assert len(queries) == 1 + reads + AUDIT, queries
    assert server_queries.noted == [acme.org.pk]  # sealed later, off the request path


def test_get_document_costs_a_small_constant(
    mcp_url: str, acme: Tenant, server_queries: ServerQueries
) -> None:
    server_queries.of(mcp_url, tool_call("whoami"), acme.key)
    queries = server_queries.of(
        mcp_url, tool_call("get_document", {"document": acme.document.public_id}), acme.key
    )
    assert len(queries) == 1 + 1 + AUDIT, queries


def test_a_restricted_token_costs_one_more_query_in_whoami(
    mcp_url: str, acme: Tenant, server_queries: ServerQueries
) -> None:
    _, restricted = make_key(acme.owner, scopes=[Permission.PROJECTS_READ.value], project=acme.project)
    server_queries.of(mcp_url, tool_call("whoami"), restricted)
    assert len(server_queries.of(mcp_url, tool_call("whoami"), restricted)) == 1 + 1 + AUDIT


def test_one_sealing_pass_seals_many_calls_of_an_organization(
    mcp_url: str, acme: Tenant, server_queries: ServerQueries, django_assert_num_queries: Any
) -> None:
    for _ in range(3):
        server_queries.of(mcp_url, tool_call("whoami"), acme.key)
    unsealed = AuditEvent.objects.for_org(acme.org).filter(hash="").count()
    assert unsealed >= 3  # the calls' events (and the tenant's own), committed and waiting
    sealer = AuditSealer()
    for _ in range(3):
        sealer.note(acme.org.pk)
    # One pass, one transaction (this connection's log shows its BEGIN and COMMIT on either database):
    # find the chain head, lock it, read the unsealed events, seal each, move the head.
    with django_assert_num_queries(1 + 4 + unsealed + 1):
        assert sealer.seal_now() == unsealed
    assert verify_chain(org=acme.org).ok


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("list_projects", {"include_archived": True}),
        ("list_documents", {"project": "handbook"}),
        ("search_documents", {"query": "Shared"}),
        ("list_members", {}),
        ("list_audit_events", {}),
    ],
)
def test_no_n_plus_one_with_1_or_10_rows(
    mcp_url: str, acme: Tenant, server_queries: ServerQueries, tool: str, arguments: dict[str, Any]
) -> None:
    server_queries.of(mcp_url, tool_call("whoami"), acme.key)
    few = len(server_queries.of(mcp_url, tool_call(tool, arguments), acme.key))
    for n in range(9):
        project = ProjectFactory(organization=acme.org, slug=f"more-{n}")
        DocumentFactory(project=acme.project, body="Shared words again.")
        DocumentFactory(project=project, body="Shared words elsewhere.")
        MembershipFactory(organization=acme.org)
        server_queries.of(mcp_url, tool_call("whoami"), acme.key)  # an audit event more
    many = server_queries.of(mcp_url, tool_call(tool, arguments), acme.key)
    assert len(many) == few, many

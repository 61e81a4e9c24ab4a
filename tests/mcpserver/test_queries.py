"""Query counts of whole MCP requests, counted inside the live server: deterministic, so asserted here.

Every ORM query of the server's threads is recorded through an execute wrapper installed on the
connections the MCP pool holds and on each new connection; the event loop's own read of a credential
generation (mcpserver/generations.py) is counted by wrapping the gateway's reader. The audit journal
is never flushed by the session server while a test runs (tests flush it), so no background write
lands in a request's count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.test.utils import CaptureQueriesContext

from accounts.audit.chain import verify_chain
from accounts.core.permissions import Permission
from accounts.models import AuditEvent
from mcpserver.db import pool_connections
from mcpserver.gateway import McpGateway
from tests.factories import DocumentFactory, MembershipFactory, ProjectFactory
from tests.support.apikeys import make_key
from tests.support.mcp import Tenant, post, tool_call
from tests.support.queries import SAVEPOINT, SCOPE, with_rls

# SQLite logs its "BEGIN IMMEDIATE" (and the test harness its savepoints); PostgreSQL's BEGIN is
# implicit and not logged.
BEGIN = 1 if connection.vendor == "sqlite" else 0


class ServerQueries:
    def __init__(self) -> None:
        self.sql: list[str] = []
        self.generation_reads = 0
        self.lock = threading.Lock()

    def wrapper(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            with self.lock:
                self.sql.append(sql)
        return execute(sql, params, many, context)

    def of(self, url: str, body: dict[str, Any], key: str) -> list[str]:
        """The ORM queries one request costs the server (generation reads counted apart)."""
        self.sql.clear()
        self.generation_reads = 0
        response = post(url, body, key)
        assert response.status_code == 200, response.text
        assert "error" not in response.json(), response.text
        assert not response.json().get("result", {}).get("isError"), response.text
        return list(self.sql)


@pytest.fixture
def server_queries(mcp_gateway: McpGateway, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerQueries]:
    queries = ServerQueries()
    read = mcp_gateway.generations.read

    async def counted_read(organization_id: int) -> int | None:
        queries.generation_reads += 1
        return await read(organization_id)

    monkeypatch.setattr(mcp_gateway.generations, "read", counted_read)

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


def test_a_known_credential_costs_one_generation_read_and_no_query(
    mcp_url: str, acme: Tenant, server_queries: ServerQueries
) -> None:
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    first = server_queries.of(mcp_url, listing, acme.key)
    # Unknown to this worker: one indexed query (with the generation), and the first use's stamp; on
    # PostgreSQL each in a transaction scoped by one statement (the key's organization found by it).
    assert len(first) == with_rls(2, statements=2 * SCOPE), first
    assert server_queries.generation_reads == 0
    assert server_queries.of(mcp_url, listing, acme.key) == []
    assert server_queries.generation_reads == 1


@pytest.mark.parametrize(
    ("tool", "arguments", "reads"),
    [
        ("whoami", {}, 0),  # the principal says it all: no thread hop, no query
        ("list_projects", {}, 1),
        ("get_project", {"project": "handbook"}, 1),
        ("list_documents", {"project": "handbook"}, 2),
        ("search_documents", {"query": "welcome"}, 1),
        ("list_members", {}, 1),
        ("list_audit_events", {}, 1),
    ],
)
def test_a_read_tool_costs_its_reads_only(
    mcp_url: str,
    acme: Tenant,
    server_queries: ServerQueries,
    mcp_gateway: McpGateway,
    tool: str,
    arguments: dict[str, Any],
    reads: int,
) -> None:
    server_queries.of(mcp_url, tool_call("whoami"), acme.key)  # warm: the credential is cached
    journaled = len(mcp_gateway.sealer.journal)
    queries = server_queries.of(mcp_url, tool_call(tool, arguments), acme.key)
    # A scope costs its statement only once the call queries something.
    assert len(queries) == with_rls(reads, statements=SCOPE if reads else 0), queries
    assert server_queries.generation_reads == 1
    assert len(mcp_gateway.sealer.journal) == journaled + 1  # its event, written with the next batch


def test_get_document_costs_its_read_only(mcp_url: str, acme: Tenant, server_queries: ServerQueries) -> None:
    server_queries.of(mcp_url, tool_call("whoami"), acme.key)
    arguments = {"document": acme.document.public_id}
    assert len(server_queries.of(mcp_url, tool_call("get_document", arguments), acme.key)) == with_rls(
        1, statements=SCOPE
    )


def test_a_restricted_token_costs_nothing_more_in_whoami(
    mcp_url: str, acme: Tenant, server_queries: ServerQueries
) -> None:
    _, restricted = make_key(acme.owner, scopes=[Permission.PROJECTS_READ.value], project=acme.project)
    server_queries.of(mcp_url, tool_call("whoami"), restricted)
    assert server_queries.of(mcp_url, tool_call("whoami"), restricted) == []  # the project came with the key


def test_a_write_costs_its_reads_its_insert_and_its_event_in_one_transaction(
    mcp_url: str, acme: Tenant, server_queries: ServerQueries, mcp_gateway: McpGateway
) -> None:
    server_queries.of(mcp_url, tool_call("whoami"), acme.key)
    journaled = len(mcp_gateway.sealer.journal)
    arguments = {"project": "handbook", "title": "Plan", "body": "Ship it."}
    queries = server_queries.of(mcp_url, tool_call("create_document", arguments), acme.key)
    # The project by slug; in the transaction, the project locked, the document and its event.
    # On PostgreSQL the call is one scoped transaction, so the service's is a savepoint within it.
    assert len(queries) == with_rls(1 + BEGIN + 3, statements=SCOPE + SAVEPOINT), queries
    assert len(mcp_gateway.sealer.journal) == journaled  # a write's event is in its own transaction


def test_one_flush_writes_a_batch_of_any_size_in_the_same_queries(
    mcp_url: str, acme: Tenant, server_queries: ServerQueries, flush_audit: Callable[[], int]
) -> None:
    flush_audit()  # the tenant's own events

    def flush_of(calls: int) -> int:
        for _ in range(calls):
            server_queries.of(mcp_url, tool_call("whoami"), acme.key)
        with CaptureQueriesContext(connection) as counted:
            assert flush_audit() == calls
        return len(counted.captured_queries)

    # One transaction: the head (found, locked), the unsealed events, one INSERT of the batch, the head.
    assert flush_of(2) == flush_of(20)
    assert AuditEvent.objects.for_org(acme.org).filter(hash="").count() == 0
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
    mcp_url: str,
    acme: Tenant,
    server_queries: ServerQueries,
    flush_audit: Callable[[], int],
    tool: str,
    arguments: dict[str, Any],
) -> None:
    server_queries.of(mcp_url, tool_call("whoami"), acme.key)
    flush_audit()
    few = len(server_queries.of(mcp_url, tool_call(tool, arguments), acme.key))
    for n in range(9):
        project = ProjectFactory(organization=acme.org, slug=f"more-{n}")
        DocumentFactory(project=acme.project, body="Shared words again.")
        DocumentFactory(project=project, body="Shared words elsewhere.")
        MembershipFactory(organization=acme.org)
        server_queries.of(mcp_url, tool_call("whoami"), acme.key)  # an audit event more
    flush_audit()
    server_queries.of(mcp_url, tool_call("whoami"), acme.key)  # the rows above changed the generation
    many = server_queries.of(mcp_url, tool_call(tool, arguments), acme.key)
    assert len(many) == few, many

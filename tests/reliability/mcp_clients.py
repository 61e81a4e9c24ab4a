"""Scenario 3: the official MCP Python SDK client, in both protocol eras, served by both processes.

One `mcp.Client` per era, whose HTTP requests a round-robin transport sends alternately to A and B
(a load balancer without affinity, inside the client): the handshake of 2025-11-25 (`initialize`) on
one process and the calls on either, and 2026-07-28's stateless requests likewise. Each era lists the
tools, then writes a document on one process and reads it back, finds it and lists projects on the
others, so every call depends on state only the shared database holds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.reliability.report import Result
from tests.reliability.stack import Stack

ROUNDS = 4
# The SDK's names for the eras: "auto" negotiates the newest (server/discover), "legacy" initializes.
MODES = {"auto": "2026-07-28", "legacy": "2025-11-25"}
CALL_TIMEOUT = 30.0


class RoundRobin(httpx2.AsyncBaseTransport):
    """Send each request to the next of `ports` (same host), keeping its Host header: as a load
    balancer would, the processes see the public name."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.inner = httpx2.AsyncHTTPTransport()
        self.served: Counter[int] = Counter()
        self._next = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self.ports[self._next % len(self.ports)]
        self._next += 1
        self.served[port] += 1
        request.url = request.url.copy_with(port=port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def session(stack: Stack, token: str, mode: str) -> tuple[str, int, Counter[int], list[str]]:
    """One client's calls: (negotiated version, calls made, requests per port, problems)."""
    balancer = RoundRobin([stack.a.port, stack.b.port])
    problems: list[str] = []
    calls = 0

    def check(tool: str, outcome: Any) -> dict[str, Any]:
        if outcome.is_error or not isinstance(outcome.structured_content, dict):
            problems.append(f"{mode} {tool}: {outcome.content!r:.200}")
            return {}
        return outcome.structured_content

    async with (
        httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {token}"}, transport=balancer, timeout=CALL_TIMEOUT
        ) as http,
        Client(streamable_http_client(f"{stack.a.url}/mcp", http_client=http), mode=mode) as client,
    ):
        tools = {tool.name for tool in (await client.list_tools()).tools}
        if "create_document" not in tools:
            problems.append(f"{mode}: tools/list lacks create_document: {sorted(tools)}")
        for number in range(ROUNDS):
            title = f"SDK {mode} {number} {uuid.uuid4().hex[:8]}"
            role = check("whoami", await client.call_tool("whoami", {})).get("role")
            if role != "owner":
                problems.append(f"{mode} whoami: role {role!r}")
            created = check(
                "create_document",
                await client.call_tool("create_document", {"project": "handbook", "title": title}),
            )
            document = created.get("id", "")
            read = check("get_document", await client.call_tool("get_document", {"document": document}))
            if read.get("title") != title:
                problems.append(f"{mode}: get_document read {read.get('title')!r}, wrote {title!r}")
            found = check("search_documents", await client.call_tool("search_documents", {"query": title}))
            if document not in str(found):
                problems.append(f"{mode}: search_documents did not find {document}")
            check("list_projects", await client.call_tool("list_projects", {}))
            calls += 5
        return str(client.protocol_version), calls, balancer.served, problems


def run(stack: Stack, result: Result, keys: list[str]) -> None:
    for (mode, expected), token in zip(MODES.items(), keys, strict=True):
        version, calls, served, problems = asyncio.run(asyncio.wait_for(session(stack, token, mode), 120))
        a, b = served[stack.a.port], served[stack.b.port]
        result.note(f"{mode} → {version}: {calls} tool calls, {a + b} requests (A {a}, B {b})")
        result.check(version == expected, f"{mode}: negotiated {version}, expected {expected}")
        result.check(not problems, "; ".join(problems[:3]))
        result.check(abs(a - b) <= 1 and a > 0, f"{mode}: requests not alternated: A {a}, B {b}")

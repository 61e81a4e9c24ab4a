"""Helpers for MCP tests: the SDK's client over real HTTP, raw JSON-RPC posts, a tenant's worth of rows."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import httpx2
from django.db import OperationalError
from django.utils import timezone
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from accounts.core.permissions import Role
from accounts.models import AuditEvent, Document, Membership, Organization, Project
from tests.factories import DocumentFactory, MembershipFactory, OrganizationFactory, ProjectFactory
from tests.support.apikeys import make_key

T = TypeVar("T")


MODES = ("auto", "legacy")  # auto negotiates 2026-07-28; legacy is the 2025-11-25 initialize handshake


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a client coroutine to completion, in a thread of its own: the main thread may already run a
    loop (Playwright's sync API in a session fixture of the browser tests)."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result(timeout=120)


@asynccontextmanager
async def connect(url: str, token: str, *, mode: str = "auto") -> AsyncIterator[Client]:
    """The SDK's own client over real HTTP with a static bearer token."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,  # type: ignore[arg-type]
    ):
        yield client


async def call(
    url: str, token: str, tool: str, arguments: dict[str, Any] | None = None, *, mode: str = "auto"
) -> Any:
    async with connect(url, token, mode=mode) as client:
        return await client.call_tool(tool, arguments or {})


def wait_sealed(org: Organization, *, count: int | None = None, timeout: float = 5.0) -> None:
    """Wait for an MCP app's background sealer to write and seal every event of the organization
    (`count`: until it has that many, reads' events being written in batches)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            events = AuditEvent.objects.for_org(org)
            if not events.filter(hash="").exists() and (count is None or events.count() >= count):
                return
        except OperationalError:  # SQLite's shared-cache test database: the sealer is writing
            pass
        assert time.monotonic() < deadline, "the audit events were not sealed in time"
        time.sleep(0.01)


@dataclass
class Tenant:
    """One organization with an owner, a viewer, two projects (one archived) and documents, and keys."""

    org: Organization
    owner: Membership
    viewer: Membership
    project: Project
    archived: Project
    document: Document
    archived_document: Document
    key: str  # the owner's key, every scope
    viewer_key: str


def make_tenant(slug: str) -> Tenant:
    org = OrganizationFactory(name=slug.title(), slug=slug)
    owner = MembershipFactory(organization=org, role=Role.OWNER, user__email=f"owner@{slug}.test")
    # A member who made a key with write scopes, then was made a viewer: the key now does what a
    # viewer may (the role is re-read on every request), though it still carries the write scopes.
    viewer = MembershipFactory(organization=org, role=Role.MEMBER, user__email=f"viewer@{slug}.test")
    viewer_key = make_key(viewer)[1]
    Membership.objects.for_org(org).filter(pk=viewer.pk).update(role=Role.VIEWER)
    viewer.refresh_from_db()
    project = ProjectFactory(organization=org, name=f"{slug} handbook", slug="handbook")
    archived = ProjectFactory(organization=org, name=f"{slug} old", slug=f"{slug}-old")
    document = DocumentFactory(
        project=project, title=f"{slug} welcome", body=f"Welcome to {slug}. Shared words."
    )
    archived_document = DocumentFactory(project=archived, title=f"{slug} legacy", body="Old text.")
    Project.objects.for_org(org).filter(pk=archived.pk).update(archived_at=timezone.now())
    archived.refresh_from_db()
    return Tenant(
        org=org,
        owner=owner,
        viewer=viewer,
        project=project,
        archived=archived,
        document=document,
        archived_document=archived_document,
        key=make_key(owner)[1],
        viewer_key=viewer_key,
    )


JSON = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def tool_call(name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments or {}},
    }


def post(url: str, body: Any, token: str | None = None, **headers: str) -> httpx.Response:
    all_headers = {**JSON, **headers}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(url, content=content, headers=all_headers, timeout=30)

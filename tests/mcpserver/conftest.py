"""MCP tests: a real uvicorn in a thread (tests/live.py) on pytest-django's database, and the SDK's Client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
import pytest
from django.core.asgi import get_asgi_application
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from accounts.core.permissions import Role
from accounts.models import AuditEvent, Document, Membership, Organization, Project
from mcpserver.db import close_pool
from mcpserver.gateway import McpGateway
from tests.apikeys.utils import make_key
from tests.factories import DocumentFactory, MembershipFactory, OrganizationFactory, ProjectFactory
from tests.live import serve_in_thread, wait_until_idle

T = TypeVar("T")
MODES = ("auto", "legacy")  # auto negotiates 2026-07-28; legacy is the 2025-11-25 initialize handshake


@pytest.fixture(scope="session")
def mcp_gateway() -> McpGateway:
    """The session server's MCP app. Its background audit sealer never ticks: tests seal with
    `mcp_gateway.sealer.seal_now()` (and each test's teardown does), so no sealing runs while a test
    makes requests or reads rows (SQLite's shared-cache test database would report a table locked).
    tests/mcpserver/test_sealing.py runs the background sealer on servers of its own."""
    from mcpserver.server import build_mcp_app

    gateway = build_mcp_app()
    gateway.sealer.interval = 24 * 3600
    return gateway


@pytest.fixture(scope="session")
def mcp_base_url(django_db_setup: None, mcp_gateway: McpGateway) -> Iterator[str]:
    """One server for the session, with its own MCP app (the SDK's session manager runs once per app).

    It depends on the test database so that it stops (closing its pool's connections) before the
    database is dropped.
    """
    from config.asgi import build_application

    app = build_application(mcp_app=mcp_gateway, django_app=get_asgi_application())
    try:
        with serve_in_thread(app) as url:
            yield url
    finally:
        close_pool()


@pytest.fixture
def mcp_url(mcp_base_url: str, transactional_db: None, mcp_gateway: McpGateway) -> Iterator[str]:
    """The /mcp URL; the test's rows are committed so the server's threads see them."""
    yield f"{mcp_base_url}/mcp"
    # Let the server finish the test's last request, then seal the test's events, before its rows
    # are flushed: not in the middle of the next test.
    wait_until_idle(mcp_base_url)
    mcp_gateway.sealer.seal_now()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


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


def wait_sealed(org: Organization, *, timeout: float = 5.0) -> None:
    """Wait for an MCP app's background sealer to seal every event of the organization."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if not AuditEvent.objects.for_org(org).filter(hash="").exists():
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


@pytest.fixture
def acme(db: None) -> Tenant:
    return make_tenant("acme")


@pytest.fixture
def globex(db: None) -> Tenant:
    return make_tenant("globex")

"""Fixtures of MCP tests (a pytest plugin, tests/conftest.py): a real uvicorn in a thread on pytest-django's
database, serving its own MCP app, and two tenants' worth of rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.core.asgi import get_asgi_application

from mcpserver.db import close_pool
from mcpserver.gateway import McpGateway
from tests.support.live import serve_in_thread, wait_until_idle
from tests.support.mcp import Tenant, make_tenant


@pytest.fixture(scope="session")
def mcp_gateway() -> McpGateway:
    """The session server's MCP app. Its background audit writer never ticks: tests write its journal
    with `flush_audit()` (and each test's teardown does), so no sealing runs while a test makes
    requests or reads rows (SQLite's shared-cache test database would report a table locked).
    tests/mcpserver/test_sealing.py runs the background writer on servers of its own."""
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


@pytest.fixture
def flush_audit(mcp_base_url: str, mcp_gateway: McpGateway) -> Callable[[], int]:
    """Write the session server's audit journal now (reads' events wait there; its writer never ticks
    in tests), once the server has finished its requests. Returns how many events it sealed."""

    def flush() -> int:
        wait_until_idle(mcp_base_url)
        return mcp_gateway.sealer.seal_now()

    return flush


@pytest.fixture
def acme(db: None) -> Tenant:
    return make_tenant("acme")


@pytest.fixture
def globex(db: None) -> Tenant:
    return make_tenant("globex")

"""The MCP app's audit writer: reads' events written in batches, writes' events sealed, both shortly
after the answer and off the request path; nothing left behind at shutdown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.core.asgi import get_asgi_application
from django.db import transaction
from django.utils import timezone

from accounts.audit.chain import verify_chain
from accounts.audit.journal import Journal
from accounts.audit.models import AuditAction
from accounts.audit.record import audit_deferred_to, audit_record
from accounts.core.principal import Principal
from accounts.models import AuditEvent, Project
from mcpserver.gateway import McpGateway
from mcpserver.server import build_mcp_app
from tests.factories import AuditEventFactory
from tests.support.live import serve_in_thread
from tests.support.mcp import Tenant, call, make_tenant, run, wait_sealed


def mcp_events(tenant: Tenant) -> Any:
    return AuditEvent.objects.for_org(tenant.org).filter(channel="mcp")


@contextmanager
def own_server(*, interval: float) -> Iterator[tuple[str, McpGateway]]:
    """A server of this test's own (lifespan and all), its writer ticking every `interval` seconds."""
    from config.asgi import build_application  # builds the default app on import: only when needed

    gateway = build_mcp_app()
    gateway.sealer.interval = interval
    app = build_application(mcp_app=gateway, django_app=get_asgi_application())
    with serve_in_thread(app) as url:
        yield f"{url}/mcp", gateway


def test_events_of_mcp_calls_are_written_shortly_and_the_chain_verifies(transactional_db: None) -> None:
    tenant = make_tenant("initech")
    with own_server(interval=0.05) as (url, gateway):
        assert gateway.sealer.running
        # One call at a time, each written before the next (SQLite's shared-cache test database
        # reports a table locked when a read meets the writer's transaction).
        for count, (tool, arguments) in enumerate(
            [
                ("whoami", {}),
                ("create_project", {"name": "Research"}),
                ("get_project", {"project": "nope"}),  # a failure is audited too
            ],
            start=1,
        ):
            run(call(url, tenant.key, tool, arguments))
            wait_sealed(tenant.org, count=count)
    assert mcp_events(tenant).count() == 3
    report = verify_chain(org=tenant.org)
    assert report.ok, report.reason
    assert (report.checked, report.pending) == (AuditEvent.objects.for_org(tenant.org).count(), 0)


def test_shutdown_writes_and_seals_what_is_left(transactional_db: None) -> None:
    tenant = make_tenant("initech")
    with own_server(interval=24 * 3600) as (url, gateway):  # no pass while serving: only the shutdown
        for _ in range(3):
            run(call(url, tenant.key, "whoami"))
        assert len(gateway.sealer.journal) == 3
        assert mcp_events(tenant).count() == 0  # reads' events wait in memory
    assert mcp_events(tenant).filter(action=AuditAction.MCP_TOOL_CALLED).exclude(hash="").count() == 3
    assert verify_chain(org=tenant.org).ok


def test_a_write_and_its_event_are_committed_before_the_answer(transactional_db: None) -> None:
    tenant = make_tenant("initech")
    with own_server(interval=24 * 3600) as (url, _):
        run(call(url, tenant.key, "create_project", {"name": "Research"}))
        project = Project.objects.for_org(tenant.org).get(name="Research")
        event = mcp_events(tenant).get(action=AuditAction.PROJECT_CREATED)
        assert (event.target_id, event.hash) == (project.public_id, "")  # sealed later
    assert verify_chain(org=tenant.org).ok


def record_then_roll_back(principal: Principal) -> None:
    with transaction.atomic():
        audit_record(principal=principal, action=AuditAction.PROJECT_CREATED)
        raise RuntimeError("rolled back: nothing to seal")


def test_deferred_sealing_hands_over_the_organization_only_after_commit(
    owner_principal: Principal, django_capture_on_commit_callbacks: Any
) -> None:
    journal = Journal()
    with audit_deferred_to(journal), django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            audit_record(principal=owner_principal, action=AuditAction.PROJECT_UPDATED)
            audit_record(principal=owner_principal, action=AuditAction.PROJECT_UPDATED)
            assert journal.idle
        with pytest.raises(RuntimeError):
            record_then_roll_back(owner_principal)
    assert not journal.idle  # the committed transaction's organization, to seal
    events = AuditEvent.objects.for_org(owner_principal.organization)
    assert [event.hash for event in events] == ["", ""]  # the journal's owner seals them, not the commit
    assert journal.flush() == 2
    assert verify_chain(org=owner_principal.organization).ok


def test_events_another_process_left_unsealed_are_sealed_by_any_worker(transactional_db: None) -> None:
    """A process killed between a commit and its sealing leaves events unsealed; a worker starting
    (and every sweep after) finds and seals them, and leaves fresh ones to the process sealing them."""
    orphaned, fresh = make_tenant("initech"), make_tenant("globex")
    AuditEventFactory(organization=orphaned.org, created_at=timezone.now() - timedelta(minutes=5))
    AuditEventFactory(organization=fresh.org)  # committed a moment ago: its own process seals it
    with own_server(interval=0.05):
        wait_sealed(orphaned.org, count=AuditEvent.objects.for_org(orphaned.org).count())
    assert verify_chain(org=orphaned.org).pending == 0
    assert verify_chain(org=orphaned.org).ok
    assert verify_chain(org=fresh.org).pending == 1

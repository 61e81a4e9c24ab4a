"""The MCP app's background audit sealer: MCP events are sealed shortly after commit, off the request path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.asgi import get_asgi_application
from django.db import transaction

from accounts.audit.chain import verify_chain
from accounts.audit.models import AuditAction
from accounts.audit.record import audit_record, sealing_deferred_to
from accounts.core.principal import Principal
from accounts.models import AuditEvent
from mcpserver import sealer as sealer_module
from mcpserver.gateway import McpGateway
from mcpserver.sealer import AuditSealer
from mcpserver.server import build_mcp_app
from tests.support.live import serve_in_thread
from tests.support.mcp import Tenant, call, make_tenant, run, wait_sealed


def unsealed(tenant: Tenant) -> int:
    return AuditEvent.objects.for_org(tenant.org).filter(hash="").count()


@contextmanager
def own_server(*, interval: float) -> Iterator[tuple[str, McpGateway]]:
    """A server of this test's own (lifespan and all), its sealer ticking every `interval` seconds."""
    from config.asgi import build_application  # builds the default app on import: only when needed

    gateway = build_mcp_app()
    gateway.sealer.interval = interval
    app = build_application(mcp_app=gateway, django_app=get_asgi_application())
    with serve_in_thread(app) as url:
        yield f"{url}/mcp", gateway


def test_events_of_mcp_calls_are_sealed_shortly_and_the_chain_verifies(transactional_db: None) -> None:
    tenant = make_tenant("initech")
    with own_server(interval=0.05) as (url, gateway):
        assert gateway.sealer.running
        # One call at a time, each sealed before the next (SQLite's shared-cache test database
        # reports a table locked when a read meets the sealer's write).
        for tool, arguments in [
            ("whoami", {}),
            ("create_project", {"name": "Research"}),
            ("get_project", {"project": "nope"}),  # a failure is audited too
        ]:
            run(call(url, tenant.key, tool, arguments))
            wait_sealed(tenant.org)
    assert AuditEvent.objects.for_org(tenant.org).filter(channel="mcp").count() == 3
    report = verify_chain(org=tenant.org)
    assert report.ok, report.reason
    assert (report.checked, report.pending) == (AuditEvent.objects.for_org(tenant.org).count(), 0)


def test_shutdown_seals_what_is_left(transactional_db: None) -> None:
    tenant = make_tenant("initech")
    with own_server(interval=24 * 3600) as (url, _):  # no pass while serving: only the shutdown seals
        for _ in range(3):
            run(call(url, tenant.key, "whoami"))
        assert unsealed(tenant) == 3
    assert unsealed(tenant) == 0
    assert verify_chain(org=tenant.org).ok


def record_then_roll_back(principal: Principal) -> None:
    with transaction.atomic():
        audit_record(principal=principal, action=AuditAction.PROJECT_CREATED)
        raise RuntimeError("rolled back: nothing to seal")


def test_deferred_sealing_hands_over_the_organization_only_after_commit(
    owner_principal: Principal, django_capture_on_commit_callbacks: Any
) -> None:
    noted: list[int] = []
    with sealing_deferred_to(noted.append), django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            audit_record(principal=owner_principal, action=AuditAction.PROJECT_UPDATED)
            audit_record(principal=owner_principal, action=AuditAction.PROJECT_UPDATED)
            assert noted == []
        with pytest.raises(RuntimeError):
            record_then_roll_back(owner_principal)
    assert noted == [owner_principal.organization.pk]  # once per transaction that committed
    events = AuditEvent.objects.for_org(owner_principal.organization)
    assert [event.hash for event in events] == ["", ""]  # the sink's owner seals them, not the commit


def test_a_failing_organization_does_not_stop_the_others(
    owner_principal: Principal,
    other_owner_principal: Principal,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sealer = AuditSealer()
    for principal in (owner_principal, other_owner_principal):
        with (
            sealing_deferred_to(sealer.note),
            django_capture_on_commit_callbacks(execute=True),
            transaction.atomic(),
        ):
            audit_record(principal=principal, action=AuditAction.PROJECT_UPDATED)
    broken = owner_principal.organization.pk
    real = sealer_module.seal_pending

    def seal_pending(*, org_id: int) -> int:
        if org_id == broken:
            raise RuntimeError("database hiccup")
        return real(org_id=org_id)

    monkeypatch.setattr(sealer_module, "seal_pending", seal_pending)
    assert sealer.seal_now() == 1
    assert "could not seal the audit chain" in caplog.text
    assert AuditEvent.objects.for_org(owner_principal.organization).get().hash == ""  # kept, unsealed
    assert AuditEvent.objects.for_org(other_owner_principal.organization).get().hash


def test_a_failed_organization_is_retried_on_the_next_passes_then_left_to_its_next_event(
    owner_principal: Principal,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sealer = AuditSealer()
    with (
        sealing_deferred_to(sealer.note),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        audit_record(principal=owner_principal, action=AuditAction.PROJECT_UPDATED)
    real = sealer_module.seal_pending
    failures = iter([RuntimeError("database is locked")] * 2)

    def flaky_seal_pending(*, org_id: int) -> int:
        error = next(failures, None)
        if error is not None:
            raise error
        return real(org_id=org_id)

    monkeypatch.setattr(sealer_module, "seal_pending", flaky_seal_pending)
    assert sealer.seal_now() == 0
    assert sealer.seal_now() == 0
    assert sealer.seal_now() == 1  # the third pass succeeds without any new event
    assert AuditEvent.objects.for_org(owner_principal.organization).get().hash

    monkeypatch.setattr(sealer_module, "seal_pending", lambda *, org_id: 1 / 0)
    sealer.note(owner_principal.organization.pk)
    passes = 0
    while sealer.seal_now() == 0 and sealer._pending:
        passes += 1
    assert passes == sealer_module.MAX_ATTEMPTS - 1  # then it gives up until the next event

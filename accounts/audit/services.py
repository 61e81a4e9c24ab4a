"""Writes about the audit log itself: an export is recorded before it is streamed."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from accounts.audit.models import AuditAction, AuditEvent
from accounts.audit.record import audit_record
from accounts.audit.selectors import AuditFilters, audit_event_list
from accounts.core.principal import Principal


@transaction.atomic
def audit_log_export(*, principal: Principal, filters: AuditFilters, fmt: str) -> QuerySet[AuditEvent]:
    """Record an export of the filtered audit log; returns the events to stream, capped, newest first."""
    events = audit_event_list(principal=principal, filters=filters)  # checks AUDIT_READ
    limit = settings.AUDIT_EXPORT_MAX_ROWS
    # Who took a copy of the log, and of which part, is itself part of the log.
    audit_record(
        principal=principal,
        action=AuditAction.AUDIT_EXPORTED,
        data={"format": fmt, "filters": filters.as_data(), "max_rows": limit},
    )
    return events[:limit]

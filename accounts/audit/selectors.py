"""Reads of the audit log: one organization's events, newest first, filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from accounts.audit.models import AuditEvent
from accounts.content.models import Project
from accounts.core.permissions import Permission
from accounts.core.principal import Principal
from accounts.users.models import User


@dataclass(frozen=True)
class AuditFilters:
    actor: User | None = None
    action: str = ""
    project: Project | None = None
    channel: str = ""
    since: datetime | None = None
    until: datetime | None = None
    credential_id: str = ""

    def as_data(self) -> dict[str, str]:
        """The filters that are set, as JSON-ready strings (for the audit event of an export)."""
        values = {
            "actor": self.actor.email if self.actor is not None else "",
            "action": self.action,
            "project": self.project.slug if self.project is not None else "",
            "channel": self.channel,
            "since": self.since.isoformat() if self.since is not None else "",
            "until": self.until.isoformat() if self.until is not None else "",
            "credential_id": self.credential_id,
        }
        return {key: value for key, value in values.items() if value}


def audit_event_list(*, principal: Principal, filters: AuditFilters | None = None) -> QuerySet[AuditEvent]:
    """The organization's audit events, newest first, filtered; paginate with `accounts.pagination`."""
    principal.require(Permission.AUDIT_READ)
    filters = filters or AuditFilters()
    queryset = AuditEvent.objects.visible_to(principal)
    if filters.actor is not None:
        queryset = queryset.filter(actor_id=filters.actor.pk)
    if filters.action:
        queryset = queryset.filter(action=filters.action)
    if filters.project is not None:
        queryset = queryset.filter(project_id=filters.project.pk)
    if filters.channel:
        queryset = queryset.filter(channel=filters.channel)
    if filters.since is not None:
        queryset = queryset.filter(created_at__gte=filters.since)
    if filters.until is not None:
        queryset = queryset.filter(created_at__lt=filters.until)
    if filters.credential_id:
        queryset = queryset.filter(credential_id=filters.credential_id)
    return queryset.select_related("project").order_by("-created_at", "-id")

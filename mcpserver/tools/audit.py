"""The `list_audit_events` tool."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from accounts.audit.models import AuditEvent
from accounts.audit.selectors import AuditFilters, audit_event_list
from accounts.content.selectors import project_get
from accounts.core.pagination import KeysetPaginator
from accounts.core.permissions import Permission
from accounts.core.principal import Principal
from mcpserver.registry import org_tool
from mcpserver.tools.common import NO_PROJECT, Cursor, Limit, ProjectFilter


class AuditEventItem(BaseModel):
    seq: int | None = Field(
        description="The event's position in this organization's audit chain (null until sealed)."
    )
    created_at: datetime
    action: str
    channel: str
    actor: str = Field(description="Email of who acted (empty for the system).")
    credential: str = Field(description="The API key or OAuth app used, if any.")
    project: str | None
    target: str
    data: dict[str, Any]


class AuditPage(BaseModel):
    events: list[AuditEventItem]
    next_cursor: str | None = Field(description="Pass as cursor to get older events; null at the start.")


audit_paginator: KeysetPaginator[AuditEvent] = KeysetPaginator(
    salt="mcp.audit", ordering=("-created_at", "-id"), page_size=50, max_page_size=100
)


@org_tool(scope=Permission.AUDIT_READ, title="List audit events", read_only=True, not_found=NO_PROJECT)
def list_audit_events(
    principal: Principal,
    action: Annotated[
        str,
        Field(max_length=64, description="Only this action, e.g. 'document.updated' or 'mcp.tool_called'."),
    ] = "",
    channel: Annotated[
        str,
        Field(max_length=8, pattern=r"^(|web|api|mcp|system)$", description="Only web, api, mcp or system."),
    ] = "",
    project: ProjectFilter = None,
    since: Annotated[
        datetime | None, Field(description="Only events at or after this ISO 8601 time.")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> AuditPage:
    """Read the organization's audit log, newest first: who did what, when, through which channel."""
    filters = AuditFilters(
        action=action,
        channel=channel,
        project=project_get(principal=principal, slug=project) if project else None,
        since=since,
    )
    page = audit_paginator.paginate(
        audit_event_list(principal=principal, filters=filters), cursor=cursor, page_size=limit
    )
    items = [
        AuditEventItem(
            seq=e.seq,
            created_at=e.created_at,
            action=e.action,
            channel=e.channel,
            actor=e.actor_label,
            credential=e.credential_label,
            project=e.project.slug if e.project else None,
            target=e.target_label,
            data=e.data,
        )
        for e in page
    ]
    return AuditPage(events=items, next_cursor=page.next_cursor)

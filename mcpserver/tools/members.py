"""The `list_members` tool."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from accounts.core.pagination import KeysetPaginator
from accounts.core.permissions import Permission
from accounts.core.principal import Principal
from accounts.orgs.models import Membership
from accounts.orgs.selectors import member_list
from mcpserver.registry import org_tool
from mcpserver.tools.common import Cursor, Limit, NextCursor


class MemberItem(BaseModel):
    id: str
    email: str
    name: str
    role: str
    joined_at: datetime


class MemberPage(BaseModel):
    members: list[MemberItem]
    next_cursor: NextCursor


members_paginator: KeysetPaginator[Membership] = KeysetPaginator(
    salt="mcp.members", ordering=("id",), page_size=50, max_page_size=100
)


@org_tool(scope=Permission.MEMBERS_READ, title="List members", read_only=True)
def list_members(principal: Principal, cursor: Cursor = None, limit: Limit = 50) -> MemberPage:
    """List the organization's members: email, name and role (owner, admin, member or viewer)."""
    page = members_paginator.paginate(member_list(principal=principal), cursor=cursor, page_size=limit)
    items = [
        MemberItem(id=m.public_id, email=m.user.email, name=m.user.name, role=m.role, joined_at=m.created_at)
        for m in page
    ]
    return MemberPage(members=items, next_cursor=page.next_cursor)

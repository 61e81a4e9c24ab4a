"""The `whoami` tool: who the connection acts as, and what its token may do."""

from __future__ import annotations

from pydantic import BaseModel, Field

from accounts.content.selectors import project_restricted_to
from accounts.core.principal import Principal
from accounts.core.toolpolicy import EVERYTHING, ToolMode
from mcpserver.registry import org_tool


class OrganizationRef(BaseModel):
    slug: str
    name: str


class ToolPolicyOut(BaseModel):
    preset: str = Field(description="all (everything the scopes allow), read_only or custom")
    tools: dict[str, str] = Field(
        description="Each tool this token may see: allowed, or approval (a person must approve each call). "
        "Tools the policy hides are not listed."
    )


class WhoAmI(BaseModel):
    user_id: str
    email: str
    name: str
    organization: OrganizationRef
    role: str = Field(description="owner, admin, member or viewer")
    scopes: list[str] = Field(description="What this token may do (its role may allow less).")
    credential_kind: str = Field(description="api_key or oauth")
    credential_id: str
    credential_label: str
    project: str | None = Field(
        description="The only project this token can see, if it is restricted to one."
    )
    tool_policy: ToolPolicyOut = Field(description="Which tools this token may call.")


@org_tool(scope=None, title="Who am I", read_only=True, database=False, policy=False)
def whoami(principal: Principal) -> WhoAmI:
    """Show who this connection acts as: the user, their organization and role, and what the token may do.

    Call it first when unsure which organization you are working in; every other tool acts in this
    organization only.
    """
    credential = principal.credential
    person = principal.person
    restricted = project_restricted_to(principal=principal)
    policy = principal.tool_policy or EVERYTHING
    return WhoAmI(
        user_id=person.public_id,
        email=person.email,
        name=person.name,
        organization=OrganizationRef(slug=principal.organization.slug, name=principal.organization.name),
        role=principal.role.value,
        scopes=sorted(principal.scopes or ()),
        credential_kind=credential.kind if credential else "",
        credential_id=credential.id if credential else "",
        credential_label=credential.label if credential else "",
        project=restricted.slug if restricted else None,
        tool_policy=ToolPolicyOut(
            preset=policy.preset.value,
            tools={name: mode for name, mode in policy.describe().items() if mode != ToolMode.HIDDEN},
        ),
    )

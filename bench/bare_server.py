"""The baseline: a bare mcp SDK server with the same `whoami` shape, no Django, no auth, no database.

Run: `uvicorn bench.bare_server:app --port 8303` (bench/mcp_bench.py starts it for you).
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel


class OrganizationRef(BaseModel):
    slug: str
    name: str


class WhoAmI(BaseModel):
    user_id: str
    email: str
    name: str
    organization: OrganizationRef
    role: str
    scopes: list[str]
    credential_kind: str
    credential_id: str
    credential_label: str
    project: str | None


server = MCPServer("bare", log_level="WARNING")


@server.tool()
async def whoami() -> WhoAmI:
    """Who this connection acts as (a constant here)."""
    return WhoAmI(
        user_id="usr_0000000000000000",
        email="demo@gatehouse.local",
        name="Demo User",
        organization=OrganizationRef(slug="demo", name="Demo"),
        role="owner",
        scopes=["audit:read", "documents:read", "documents:write", "members:read", "projects:read"],
        credential_kind="api_key",
        credential_id="key_0000000000000000",
        credential_label="sk-…abcd",
        project=None,
    )


app = server.streamable_http_app(stateless_http=True, json_response=True)

"""The reference: a bare mcp SDK `MCPServer`, with the SDK's own bearer auth, the same result shapes.

    BENCH_BARE_URL=http://127.0.0.1:8303 uvicorn bench.bare_server:app --port 8303
    (bench/run.py starts it for you, with the same uvicorn flags as Gatehouse)

- Auth: `MCPServer(..., token_verifier=StaticTokenVerifier(), auth=AuthSettings(...))`, so the SDK's
  `AuthenticationMiddleware(BearerAuthBackend)`, `AuthContextMiddleware` and `RequireAuthMiddleware`
  run on every request; the verifier accepts one static token (`BENCH_BARE_TOKEN`, compared in
  constant time) carrying every Gatehouse token scope, bound to `BENCH_BARE_URL/mcp` (checked:
  `validate_token_resource=True`). No Django, no database for auth.
- `whoami`: the same result model as Gatehouse's, filled from the access token and constants.
- With `BENCH_RECIPES` (a JSON file written by bench/prepare.py) and `BENCH_DATABASE_URL`:
  `list_projects`, `get_document`, `search_documents` and `create_document`, each of which runs, in
  a worker thread of a fixed pool (as many threads as Gatehouse's MCP pool), with `sqlite3` or
  `psycopg` directly (bench/replay.py), exactly the statements Gatehouse's tool issued when
  captured: its reads, the audit event's INSERT in its own transaction, and for `create_document` the
  project lock, Django's validation queries, the document INSERT and its audit INSERT. It returns the
  result Gatehouse returned at capture time (a dict, as structured content). Not included: the
  bearer resolution query (the SDK's verifier stands for it) and the audit sealing that Gatehouse
  does in the background after the calls.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from pydantic import AnyHttpUrl, BaseModel

from bench.replay import Database

TOKEN = os.environ.get("BENCH_BARE_TOKEN", "bare-static-token")
BASE_URL = os.environ.get("BENCH_BARE_URL", "http://127.0.0.1:8303")
RESOURCE = f"{BASE_URL}/mcp"
SCOPES = [
    "projects:read",
    "projects:write",
    "documents:read",
    "documents:write",
    "members:read",
    "audit:read",
]
# Gatehouse's MCP pool size (mcpserver/db.py): the same number of worker threads.
POOL_SIZE = int(os.environ.get("MCP_DB_THREADS", min(32, (os.cpu_count() or 1) + 4)))


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


class StaticTokenVerifier(TokenVerifier):
    """Accepts exactly one bearer token; what a pre-shared key looks like to the SDK."""

    async def verify_token(self, token: str) -> AccessToken | None:
        if not hmac.compare_digest(token.encode(), TOKEN.encode()):
            return None
        return AccessToken(token=token, client_id="bench", scopes=SCOPES, expires_at=None, resource=RESOURCE)


server = MCPServer(
    "bare",
    log_level="WARNING",
    token_verifier=StaticTokenVerifier(),
    auth=AuthSettings(
        issuer_url=AnyHttpUrl(BASE_URL),
        resource_server_url=AnyHttpUrl(RESOURCE),
        validate_token_resource=True,
    ),
)


@server.tool()
async def whoami() -> WhoAmI:
    """Who this connection acts as (constants, and the token's scopes)."""
    token = get_access_token()
    return WhoAmI(
        user_id="usr_0000000000000000",
        email="demo@gatehouse.local",
        name="Demo User",
        organization=OrganizationRef(slug="demo", name="Demo"),
        role="owner",
        scopes=sorted(token.scopes) if token else [],
        credential_kind="api_key",
        credential_id="key_0000000000000000",
        credential_label="sk-…abcd",
        project=None,
    )


def _add_replay_tools(recipes_path: str, database_url: str) -> None:
    with open(recipes_path) as f:
        recipes: dict[str, Any] = json.load(f)["recipes"]
    database = Database(database_url)
    executor = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="bare-db")

    async def replay(name: str) -> dict[str, Any]:
        recipe = recipes[name]
        await asyncio.get_running_loop().run_in_executor(executor, database.run, recipe["ops"])
        return recipe["result"]

    @server.tool()
    async def list_projects(
        include_archived: bool = False, cursor: str | None = None, limit: int = 25
    ) -> dict[str, Any]:
        """List projects: replays Gatehouse's statements."""
        return await replay("list_projects")

    @server.tool()
    async def get_document(document: str) -> dict[str, Any]:
        """Read a document: replays Gatehouse's statements."""
        return await replay("get_document")

    @server.tool()
    async def search_documents(query: str, project: str | None = None, limit: int = 10) -> dict[str, Any]:
        """Search documents: replays Gatehouse's statements."""
        return await replay("search_documents")

    @server.tool()
    async def create_document(project: str, title: str, body: str = "") -> dict[str, Any]:
        """Create a document: replays Gatehouse's statements (document and audit INSERTs)."""
        return await replay("create_document")


if os.environ.get("BENCH_RECIPES") and os.environ.get("BENCH_DATABASE_URL"):
    _add_replay_tools(os.environ["BENCH_RECIPES"], os.environ["BENCH_DATABASE_URL"])

app = server.streamable_http_app(stateless_http=True, json_response=True)

"""ASGI entry point: `uvicorn config.asgi:application`.

Exactly `/mcp` and the OAuth protected-resource metadata go to the MCP app (mcpserver/server.py),
everything else to Django. Lifespan goes to the MCP app too: Django's handler rejects it, and the
SDK's session manager only runs inside it. `/mcp` is matched exactly: Django would 301 a POST to
`/mcp/` (APPEND_SLASH), and a Starlette Mount would 307 a bare `/mcp`.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_app = get_asgi_application()  # django.setup(): models are importable from here on

from starlette.types import ASGIApp, Receive, Scope, Send  # noqa: E402

from mcpserver.auth import PRM_ROOT_PATH  # noqa: E402
from mcpserver.gateway import MCP_PATH  # noqa: E402
from mcpserver.server import build_mcp_app  # noqa: E402


def is_mcp_path(path: str) -> bool:
    return path in (MCP_PATH, PRM_ROOT_PATH) or path.startswith(PRM_ROOT_PATH + "/")


def build_application(*, mcp_app: ASGIApp, django_app: ASGIApp) -> ASGIApp:
    """The router. A new MCP app per server: the SDK's session manager can run only once."""

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await mcp_app(scope, receive, send)
            return
        if scope["type"] == "http" and is_mcp_path(scope["path"]):
            # Django's handler is bypassed: no request_started/finished, so no connection housekeeping
            # here. The MCP app runs its ORM code in its own thread pool, which keeps and checks its
            # connections (mcpserver/db.py); its context is shared by no other request.
            await mcp_app(scope, receive, send)
            return
        await django_app(scope, receive, send)

    return application


# django-stubs types ASGIHandler.__call__ with dict/Mapping, Starlette's ASGIApp with MutableMapping:
# the same ASGI protocol, spelt two ways that mypy cannot match.
application = build_application(mcp_app=build_mcp_app(), django_app=django_app)  # type: ignore[arg-type]

"""ASGI entry point: `uvicorn config.asgi:application`.

For now everything goes to Django; the MCP endpoint (`/mcp`) is routed here in its own issue.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_asgi_application()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class McpServerConfig(AppConfig):
    name = "mcpserver"
    verbose_name = _("MCP server")

    def ready(self) -> None:
        # Registers every tool, so that forms and commands know them (accounts/core/toolpolicy.py).
        import mcpserver.tools  # noqa: F401

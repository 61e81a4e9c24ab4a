"""The Connect page: how each AI client reaches this organization's data."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.views.generic import TemplateView

from accounts.core.permissions import Permission
from accounts.orgs.mixins import OrgViewMixin


class ConnectView(OrgViewMixin, TemplateView):
    """Per-client instructions with this deployment's URLs filled in; no secret is ever shown here."""

    template_name = "accounts/connect.html"
    permission = Permission.PROJECTS_READ

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        public_url = settings.PUBLIC_URL
        return super().get_context_data(
            nav_section="connect",
            mcp_url=settings.MCP_RESOURCE_URL,
            public_url=public_url,
            api_url=f"{public_url}/api/v1/",
            prm_url=f"{public_url}/.well-known/oauth-protected-resource/mcp",
            as_metadata_url=f"{public_url}/.well-known/oauth-authorization-server",
            **kwargs,
        )

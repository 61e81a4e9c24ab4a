"""OpenAPI: how drf-spectacular describes our bearer authentication."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.core.authentication.BearerAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sk-…",
            "description": "An API key from the dashboard (Organization → API keys), sent as "
            "`Authorization: Bearer sk-…`. Never in the URL: a key in a query string is refused.",
        }

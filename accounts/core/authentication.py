"""DRF authentication for bearer tokens: `Authorization: Bearer sk-…|wat_…` to a `Principal`.

A thin wrapper over `accounts.core.bearer.resolve_bearer()`, the resolver MCP uses too. Any wrong
token raises the same `BearerTokenInvalid`, answered 401 by accounts/core/exceptions.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.core.bearer import InvalidToken, resolve_bearer
from accounts.core.client import meta_client_ip, meta_user_agent
from accounts.core.principal import Channel, Principal
from accounts.core.rls import narrow

if TYPE_CHECKING:
    from accounts.users.models import User


class BearerTokenInvalid(exceptions.AuthenticationFailed):
    default_code = "invalid_token"
    default_detail = InvalidToken.description


class BearerAuthentication(BaseAuthentication):
    """DRF authentication: `Authorization: Bearer <token>` → (user, Principal). A thin wrapper."""

    channel = Channel.API
    realm = "Gatehouse API"

    def authenticate(self, request: Request) -> tuple[User, Principal] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None  # no credentials: the permission check answers 401 without an error code
        if len(header) != 2:
            raise BearerTokenInvalid
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise BearerTokenInvalid from None
        try:
            principal = resolve_bearer(
                token=token,
                channel=self.channel,
                ip=meta_client_ip(request.META),
                user_agent=meta_user_agent(request.META),
            )
        except InvalidToken:
            raise BearerTokenInvalid from None
        narrow(organization_id=principal.organization.pk)  # the rest of the request: this tenant only
        return principal.person, principal

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{self.realm}"'

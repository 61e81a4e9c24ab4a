"""Bearer authentication: `Authorization: Bearer sk-…` to a `Principal`.

`principal_from_api_key()` is the API-key resolver, plain synchronous Python with no HTTP framework
in it; `accounts.bearer.resolve_bearer()` dispatches to it (and to OAuth access tokens) by prefix,
for the REST API (`BearerAuthentication` below) and the MCP endpoint alike. Every way a key can be
wrong raises the same `InvalidToken`, so a caller cannot tell an unknown key from a revoked or
expired one.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.bearer import InvalidToken, resolve_bearer
from accounts.client import clean_ip, clip_user_agent, meta_client_ip, meta_user_agent
from accounts.models import User
from accounts.permissions import Role
from accounts.principal import Channel, Credential, CredentialKind, Principal
from apikeys import keys
from apikeys.models import ApiKey
from apikeys.selectors import apikey_get_for_authentication
from apikeys.services import record_key_use

LAST_USED_RESOLUTION = timedelta(seconds=60)


def principal_from_api_key(*, token: str, channel: Channel, ip: str | None, user_agent: str) -> Principal:
    """Resolve an `sk-…` key to the principal it acts as; raises InvalidToken. One indexed query."""
    # Format and checksum first: a typo or a made-up key costs no database query.
    if not keys.has_valid_checksum(token):
        raise InvalidToken
    try:
        key = apikey_get_for_authentication(digest=keys.digest(token))
    except ApiKey.DoesNotExist:
        raise InvalidToken from None
    now = timezone.now()
    creator: User = key.created_by
    # The key can never do more than its creator may do today: left the organization = no access.
    if not key.is_valid_at(now) or key.creator_role is None or not creator.is_active:  # type: ignore[attr-defined]
        raise InvalidToken
    ip = clean_ip(ip)
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        record_key_use(key=key, now=now, ip=ip, older_than=now - LAST_USED_RESOLUTION)
    return Principal(
        user=creator,
        organization=key.organization,
        role=Role(key.creator_role),  # type: ignore[attr-defined]
        channel=channel,
        scopes=frozenset(key.scopes),
        project_id=key.project_id,
        credential=Credential(kind=CredentialKind.API_KEY, id=key.public_id, label=key.hint),
        ip=ip,
        user_agent=clip_user_agent(user_agent),
    )


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
        return principal.user, principal

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{self.realm}"'

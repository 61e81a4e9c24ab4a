"""The bearer resolver for `sk-…` API keys (registered with accounts.core.bearer by apikeys/apps.py).

`resolve_api_key()` is plain synchronous Python with no HTTP framework in it. Every way a key
can be wrong raises the same `InvalidToken`, so a caller cannot tell an unknown key from a revoked
or expired one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from accounts.core.bearer import InvalidToken
from accounts.core.client import clean_ip, clip_user_agent
from accounts.core.credential_cache import Resolved
from accounts.core.permissions import Role
from accounts.core.principal import Channel, Credential, CredentialKind, Principal
from accounts.users.models import User
from apikeys import keys
from apikeys.models import ApiKey
from apikeys.selectors import apikey_get_for_authentication
from apikeys.services import record_key_use

LAST_USED_RESOLUTION = timedelta(seconds=60)


def resolve_api_key(*, token: str, channel: Channel, ip: str | None, user_agent: str) -> Resolved:
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

    def record_use(*, when: float, ip: str | None) -> None:
        moment = datetime.fromtimestamp(when, tz=UTC)
        record_key_use(key=key, now=moment, ip=ip, older_than=moment - LAST_USED_RESOLUTION)

    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        record_use(when=now.timestamp(), ip=ip)
    principal = Principal(
        user=creator,
        organization=key.organization,
        role=Role(key.creator_role),  # type: ignore[attr-defined]
        channel=channel,
        scopes=frozenset(key.scopes),
        project=key.project,
        credential=Credential(kind=CredentialKind.API_KEY, id=key.public_id, label=key.hint),
        tool_policy=key.policy,
        ip=ip,
        user_agent=clip_user_agent(user_agent),
    )
    # A rolled key's expires_at is the end of its overlap: the cache checks it on every use.
    return Resolved(
        principal=principal,
        generation=key.generation,  # type: ignore[attr-defined]
        expires_at=key.expires_at,
        record_use=record_use,
    )

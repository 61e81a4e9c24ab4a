"""The per-process cache of resolved credentials (accounts/core/credential_cache.py, bearer.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.core.bearer import InvalidToken, resolve_bearer
from accounts.core.credential_cache import CACHE, CredentialCache, Resolved
from accounts.core.permissions import Role
from accounts.core.principal import Channel, Principal
from accounts.models import Membership
from apikeys.services import apikey_revoke, apikey_roll
from tests.factories import MembershipFactory, principal_for
from tests.support.apikeys import Clock, make_key

pytestmark = pytest.mark.django_db


def resolve(token: str) -> Principal:
    return resolve_bearer(token=token, channel=Channel.MCP, ip="203.0.113.9", user_agent="agent/1")


@pytest.fixture
def member() -> Membership:
    return MembershipFactory(role=Role.ADMIN)


def test_a_cached_credential_costs_one_primary_key_read(member: Membership) -> None:
    _, token = make_key(member)
    first = resolve(token)
    with CaptureQueriesContext(connection) as queries:
        again = resolve(token)
    assert [q["sql"] for q in queries] == [
        "SELECT value FROM accounts_credentialgeneration WHERE organization_id = %s".replace(
            "%s", str(member.organization.pk)
        )
    ]
    assert again == first


def test_the_cached_principal_carries_this_requests_address(member: Membership) -> None:
    _, token = make_key(member)
    resolve(token)
    principal = resolve_bearer(token=token, channel=Channel.MCP, ip="198.51.100.7", user_agent="other/2")
    assert (principal.ip, principal.user_agent) == ("198.51.100.7", "other/2")


def test_a_revocation_is_seen_at_once(member: Membership) -> None:
    key, token = make_key(member)
    resolve(token)
    apikey_revoke(principal=principal_for(member), key=key)
    with pytest.raises(InvalidToken):
        resolve(token)
    assert len(CACHE) == 0


def test_a_role_change_is_seen_at_once(member: Membership) -> None:
    _, token = make_key(member)
    assert resolve(token).role == Role.ADMIN
    Membership.objects.for_org(member.organization).filter(pk=member.pk).update(role=Role.VIEWER)
    assert resolve(token).role == Role.VIEWER


def test_an_expiry_needs_no_write_to_take_effect(member: Membership, clock: Clock) -> None:
    _, token = make_key(member, expires_at=timezone.now() + timedelta(minutes=5))
    resolve(token)
    clock.advance(minutes=5)
    with pytest.raises(InvalidToken):
        resolve(token)


def test_a_rolls_overlap_ends_without_a_write(member: Membership, clock: Clock) -> None:
    key, old_token = make_key(member)
    apikey_roll(principal=principal_for(member), key=key, overlap=timedelta(hours=1))
    resolve(old_token)
    clock.advance(minutes=59)
    resolve(old_token)
    clock.advance(minutes=1)
    with pytest.raises(InvalidToken):
        resolve(old_token)


def test_channels_are_cached_apart(member: Membership) -> None:
    _, token = make_key(member)
    resolve(token)
    rest = resolve_bearer(token=token, channel=Channel.API, ip=None, user_agent="")
    assert rest.channel == Channel.API


def test_the_token_itself_is_not_kept(member: Membership) -> None:
    _, token = make_key(member)
    resolve(token)
    assert all(token not in repr(key) for key in CACHE._entries)


def test_the_cache_is_bounded_oldest_out_first(member: Membership) -> None:
    cache = CredentialCache(max_entries=2)
    resolved = Resolved(
        principal=principal_for(member), generation=0, expires_at=None, record_use=lambda **_: None
    )
    for name in ("a", "b", "c"):
        cache.put(cache.key(token=name, channel=Channel.MCP), resolved, now=0.0)
    assert len(cache) == 2
    assert cache.get(cache.key(token="a", channel=Channel.MCP)) is None
    assert cache.get(cache.key(token="c", channel=Channel.MCP)) is not None


def test_a_credential_without_a_generation_is_not_cached(member: Membership) -> None:
    cache = CredentialCache()
    resolved = Resolved(
        principal=principal_for(member), generation=None, expires_at=None, record_use=lambda **_: None
    )
    cache.put(cache.key(token="a", channel=Channel.MCP), resolved, now=0.0)
    assert len(cache) == 0


def test_last_use_is_stamped_from_the_cache_once_a_minute(member: Membership, clock: Clock) -> None:
    key, token = make_key(member)
    resolve(token)
    clock.advance(seconds=30)
    resolve(token)
    assert type(key).objects.for_org(member.organization).get(pk=key.pk).last_used_at < clock.now
    clock.advance(seconds=31)
    resolve(token)
    assert type(key).objects.for_org(member.organization).get(pk=key.pk).last_used_at == clock.now

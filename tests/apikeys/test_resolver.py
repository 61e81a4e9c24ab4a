"""The bearer resolver: one query, the same refusal for every wrong key, changes seen on the next request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.core.bearer import InvalidToken, resolve_bearer
from accounts.core.permissions import Permission, Role
from accounts.core.principal import Channel, CredentialKind, Principal
from accounts.models import Membership, Organization, User
from apikeys import keys
from apikeys.models import ApiKey
from apikeys.resolver import resolve_api_key
from apikeys.services import apikey_revoke, apikey_roll
from tests.factories import ProjectFactory, principal_for
from tests.support.apikeys import Clock, make_key, reload
from tests.support.queries import NESTED, SECRET, with_rls

pytestmark = pytest.mark.django_db


def resolve(token: str, ip: str | None = "203.0.113.7") -> Principal:
    return resolve_api_key(token=token, channel=Channel.API, ip=ip, user_agent="curl/8").principal


def test_a_valid_key_becomes_its_creators_principal(org: Organization, member_membership: Membership) -> None:
    project = ProjectFactory(organization=org)
    key, plaintext = make_key(member_membership, scopes=["documents:read"], project=project)
    principal = resolve(plaintext)
    assert (principal.user, principal.organization, principal.role, principal.channel) == (
        member_membership.user,
        org,
        Role.MEMBER,
        Channel.API,
    )
    assert principal.scopes == frozenset({"documents:read"})
    assert principal.project_id == project.pk
    assert (principal.credential.kind, principal.credential.id, principal.credential.label) == (  # type: ignore[union-attr]
        CredentialKind.API_KEY,
        key.public_id,
        key.hint,
    )
    assert (principal.ip, principal.user_agent) == ("203.0.113.7", "curl/8")


@pytest.mark.parametrize(
    "token",
    ["", "sk-", "Bearer", "sk-short", "ghp_" + "a" * 40, "sk-" + "A" * 49, "x" * 5000, "sk-ü" + "a" * 48],
)
def test_a_malformed_key_is_refused_without_a_query(
    db: None, token: str, django_assert_num_queries: object
) -> None:
    with django_assert_num_queries(0), pytest.raises(InvalidToken):  # type: ignore[operator]
        resolve(token)


def test_a_mistyped_real_key_is_refused_without_a_query(
    owner_membership: Membership, django_assert_num_queries: object
) -> None:
    _, plaintext = make_key(owner_membership)
    typo = plaintext[:20] + ("x" if plaintext[20] != "x" else "y") + plaintext[21:]
    with django_assert_num_queries(0), pytest.raises(InvalidToken):  # type: ignore[operator]
        resolve(typo)


def test_an_unknown_well_formed_key_costs_one_query(db: None, django_assert_num_queries: object) -> None:
    with django_assert_num_queries(with_rls(1, statements=SECRET)), pytest.raises(InvalidToken):  # type: ignore[operator]
        resolve(keys.generate())


def test_resolving_a_recently_used_key_is_one_query(
    owner_membership: Membership, django_assert_num_queries: object
) -> None:
    _, plaintext = make_key(owner_membership)
    resolve(plaintext)  # stamps last use
    with django_assert_num_queries(with_rls(1, statements=SECRET)):  # type: ignore[operator]
        resolve(plaintext)


def test_last_use_is_written_at_most_once_a_minute(
    owner_membership: Membership, clock: Clock, django_assert_num_queries: object
) -> None:
    key, plaintext = make_key(owner_membership)
    with django_assert_num_queries(with_rls(2, statements=SECRET + NESTED)):  # type: ignore[operator]
        resolve(plaintext, ip="198.51.100.1")  # first use: the SELECT and one UPDATE
    first = reload(key)
    assert (first.last_used_at, first.last_used_ip) == (clock.now, "198.51.100.1")
    clock.advance(seconds=59)
    with django_assert_num_queries(with_rls(1, statements=SECRET)):  # type: ignore[operator]
        resolve(plaintext, ip="198.51.100.2")
    assert reload(key).last_used_at == first.last_used_at
    clock.advance(seconds=2)
    resolve(plaintext, ip="198.51.100.2")
    assert (reload(key).last_used_at, reload(key).last_used_ip) == (clock.now, "198.51.100.2")


def test_a_garbled_client_address_is_not_stored_and_does_not_fail(owner_membership: Membership) -> None:
    key, plaintext = make_key(owner_membership)
    resolve(plaintext, ip="not-an-ip")
    assert reload(key).last_used_ip is None
    assert reload(key).last_used_at is not None


def test_revocation_takes_effect_on_the_next_request(owner_membership: Membership) -> None:
    key, plaintext = make_key(owner_membership)
    resolve(plaintext)
    apikey_revoke(principal=principal_for(owner_membership), key=key)
    with pytest.raises(InvalidToken):
        resolve(plaintext)


def test_expiry_takes_effect_at_the_expiry_time(owner_membership: Membership, clock: Clock) -> None:
    _, plaintext = make_key(owner_membership, expires_at=clock.now + timedelta(days=30))
    clock.advance(days=30, seconds=-1)
    resolve(plaintext)
    clock.advance(seconds=1)
    with pytest.raises(InvalidToken):
        resolve(plaintext)


def test_a_rolled_key_works_until_the_overlap_ends_and_its_successor_at_once(
    owner_membership: Membership, clock: Clock
) -> None:
    old, old_plaintext = make_key(owner_membership)
    _, new_plaintext = apikey_roll(
        principal=principal_for(owner_membership), key=old, overlap=timedelta(hours=1)
    )
    resolve(new_plaintext)
    clock.advance(minutes=59)
    resolve(old_plaintext)
    clock.advance(minutes=1)
    with pytest.raises(InvalidToken):
        resolve(old_plaintext)
    resolve(new_plaintext)


def test_a_roll_without_overlap_stops_the_old_key_at_once(owner_membership: Membership) -> None:
    old, old_plaintext = make_key(owner_membership)
    apikey_roll(principal=principal_for(owner_membership), key=old, overlap=timedelta(0))
    with pytest.raises(InvalidToken):
        resolve(old_plaintext)


def test_a_creator_who_left_takes_the_keys_access_along(
    org: Organization, member_membership: Membership
) -> None:
    _, plaintext = make_key(member_membership)
    resolve(plaintext)
    Membership.objects.for_org(org).filter(pk=member_membership.pk).delete()
    with pytest.raises(InvalidToken):
        resolve(plaintext)


def test_a_deactivated_creator_takes_the_keys_access_along(owner_membership: Membership) -> None:
    _, plaintext = make_key(owner_membership)
    User.objects.filter(pk=owner_membership.user_id).update(is_active=False)
    with pytest.raises(InvalidToken):
        resolve(plaintext)


def test_the_creators_current_role_caps_the_key(org: Organization, member_membership: Membership) -> None:
    _, plaintext = make_key(member_membership, scopes=["documents:write"])
    assert resolve(plaintext).can(Permission.DOCUMENTS_WRITE)
    Membership.objects.for_org(org).filter(pk=member_membership.pk).update(role=Role.VIEWER)
    principal = resolve(plaintext)
    assert principal.role == Role.VIEWER
    assert principal.can(Permission.DOCUMENTS_READ)
    assert not principal.can(Permission.DOCUMENTS_WRITE)


def test_a_key_is_bound_to_its_own_organization(
    org: Organization, other_org: Organization, owner_membership: Membership
) -> None:
    # The same person in two organizations: the key still answers for the one it was made in.
    Membership.objects.create(organization=other_org, user=owner_membership.user, role=Role.OWNER)
    _, plaintext = make_key(owner_membership)
    assert resolve(plaintext).organization == org


def test_no_field_tells_a_revoked_key_from_an_unknown_one(owner_membership: Membership) -> None:
    key, plaintext = make_key(owner_membership)
    apikey_revoke(principal=principal_for(owner_membership), key=key)
    errors = []
    for token in (plaintext, keys.generate(), "sk-nope"):
        with pytest.raises(InvalidToken) as caught:
            resolve(token)
        errors.append((type(caught.value), str(caught.value), caught.value.args))
    assert len(set(errors)) == 1


def test_bearer_dispatch_by_prefix(owner_membership: Membership) -> None:
    _, plaintext = make_key(owner_membership)
    assert resolve_bearer(token=plaintext, channel=Channel.MCP, ip=None, user_agent="").channel == Channel.MCP
    with pytest.raises(InvalidToken):
        resolve_bearer(token="wat_unknown_kind", channel=Channel.API, ip=None, user_agent="")


def test_expired_status_uses_the_same_clock(owner_membership: Membership) -> None:
    key, _ = make_key(owner_membership, expires_at=timezone.now() + timedelta(hours=1))
    assert key.is_valid_at(timezone.now())
    assert not key.is_valid_at(timezone.now() + timedelta(hours=1))
    assert not ApiKey.objects.for_org(key.organization).filter(revoked_at__isnull=False).exists()

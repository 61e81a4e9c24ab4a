"""API key services and selectors: permissions, validation, storage, audit."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models
from django.utils import timezone

from accounts.audit.models import AuditAction
from accounts.core.permissions import Role
from accounts.core.principal import Channel, MissingPermission
from accounts.models import AuditEvent, Membership, Organization
from apikeys.models import ApiKey, ApiKeyStatus
from apikeys.selectors import apikey_get, apikey_list
from apikeys.services import apikey_expire_due, apikey_revoke, apikey_roll
from tests.factories import MembershipFactory, ProjectFactory, principal_for
from tests.support.apikeys import ALL_SCOPES, make_key, reload

pytestmark = pytest.mark.django_db


def events(org: Organization, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.for_org(org).filter(action=action).order_by("id"))


def all_text_in_database() -> str:
    """Every row of every table, as text: where a leaked plaintext key would show up."""
    chunks = []
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


# apikey_create


def test_create_stores_digest_and_hint_only_never_the_plaintext(owner_membership: Membership) -> None:
    key, plaintext = make_key(owner_membership)
    assert (key.digest, key.hint) == (
        hashlib.sha256(plaintext.encode()).hexdigest(),
        f"sk-…{plaintext[-4:]}",
    )
    dump = all_text_in_database()
    assert key.digest in dump  # the dump does include the key's row
    assert plaintext not in dump
    assert plaintext[3:] not in dump
    assert plaintext[3:40] not in dump


def test_create_audits_with_hint_and_public_id(org: Organization, member_membership: Membership) -> None:
    project = ProjectFactory(organization=org)
    key, plaintext = make_key(member_membership, scopes=["documents:read"], project=project)
    [event] = events(org, AuditAction.APIKEY_CREATED)
    assert (event.target_type, event.target_id, event.actor, event.project) == (
        "apikey",
        key.public_id,
        member_membership.user,
        project,
    )
    assert event.data["hint"] == key.hint
    assert key.hint in event.target_label
    assert event.data["scopes"] == ["documents:read"]
    assert event.data["project"] == project.slug
    assert plaintext not in repr(event.data) + event.target_label


def test_write_scope_brings_its_read_scope_and_scopes_keep_a_stable_order(
    member_membership: Membership,
) -> None:
    key, _ = make_key(member_membership, scopes=["documents:write", "members:read"])
    assert key.scopes == ["documents:read", "documents:write", "members:read"]


@pytest.mark.parametrize(
    ("scopes", "field_message"),
    [
        ([], "Choose at least one scope."),
        (["projects:read", "repo:admin"], "Unknown scope: repo:admin."),
        (["keys:create"], "Unknown scope: keys:create."),  # dashboard-only permissions are not scopes
        (["audit:read"], "Your role (Member) cannot grant: audit:read."),
    ],
)
def test_create_refuses_bad_scopes(
    member_membership: Membership, scopes: list[str], field_message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        make_key(member_membership, scopes=scopes)
    assert caught.value.message_dict == {"scopes": [field_message]}
    assert not ApiKey.objects.for_org(member_membership.organization).exists()


def test_viewer_cannot_create_keys(viewer_membership: Membership) -> None:
    with pytest.raises(MissingPermission):
        make_key(viewer_membership, scopes=["projects:read"])


def test_create_refuses_another_orgs_or_an_archived_project(
    org: Organization, other_org: Organization, owner_membership: Membership
) -> None:
    for project in (
        ProjectFactory(organization=other_org),
        ProjectFactory(organization=org, archived_at=timezone.now()),
    ):
        with pytest.raises(ValidationError) as caught:
            make_key(owner_membership, scopes=["projects:read"], project=project)
        assert list(caught.value.message_dict) == ["project"]
    assert not ApiKey.objects.for_org(org).exists()


def test_create_refuses_an_expiry_in_the_past(owner_membership: Membership) -> None:
    with pytest.raises(ValidationError) as caught:
        make_key(owner_membership, expires_at=timezone.now() - timedelta(minutes=1))
    assert list(caught.value.message_dict) == ["expires_at"]


def test_create_refuses_a_blank_name(owner_membership: Membership) -> None:
    with pytest.raises(ValidationError) as caught:
        make_key(owner_membership, name="   ")
    assert list(caught.value.message_dict) == ["name"]


# Selectors


def test_members_see_their_own_keys_admins_see_all(
    org: Organization, member_membership: Membership, admin_membership: Membership, other_org: Organization
) -> None:
    mine, _ = make_key(member_membership)
    theirs, _ = make_key(admin_membership)
    make_key(MembershipFactory(organization=other_org, role=Role.OWNER))
    assert list(apikey_list(principal=principal_for(member_membership))) == [mine]
    assert list(apikey_list(principal=principal_for(admin_membership))) == [theirs, mine]
    with pytest.raises(ApiKey.DoesNotExist):
        apikey_get(principal=principal_for(member_membership), public_id=theirs.public_id)


def test_list_splits_valid_from_revoked_and_expired(org: Organization, owner_membership: Membership) -> None:
    principal = principal_for(owner_membership)
    valid, _ = make_key(owner_membership)
    revoked, _ = make_key(owner_membership)
    apikey_revoke(principal=principal, key=revoked)
    expired, _ = make_key(owner_membership, expires_at=timezone.now() + timedelta(seconds=1))
    ApiKey.objects.for_org(org).filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert list(apikey_list(principal=principal)) == [valid]
    assert set(apikey_list(principal=principal, valid=False)) == {revoked, expired}


def test_list_hides_other_orgs_keys(org: Organization, other_owner_principal: object) -> None:
    make_key(MembershipFactory(organization=org, role=Role.OWNER))
    assert list(apikey_list(principal=other_owner_principal)) == []  # type: ignore[arg-type]


# apikey_revoke


def test_member_revokes_own_key_and_it_is_audited(org: Organization, member_membership: Membership) -> None:
    key, _ = make_key(member_membership)
    apikey_revoke(principal=principal_for(member_membership), key=key)
    key = reload(key)
    assert key.status == ApiKeyStatus.REVOKED
    assert key.revoked_by == member_membership.user
    [event] = events(org, AuditAction.APIKEY_REVOKED)
    assert (event.target_id, event.data["hint"], event.data["was"]) == (key.public_id, key.hint, "active")


def test_revoke_twice_records_once(org: Organization, owner_membership: Membership) -> None:
    key, _ = make_key(owner_membership)
    principal = principal_for(owner_membership)
    apikey_revoke(principal=principal, key=key)
    first = reload(key).revoked_at
    apikey_revoke(principal=principal, key=key)
    assert reload(key).revoked_at == first
    assert len(events(org, AuditAction.APIKEY_REVOKED)) == 1


def test_admin_revokes_a_members_key_but_a_member_cannot_revoke_others(
    org: Organization, member_membership: Membership, admin_membership: Membership
) -> None:
    members_key, _ = make_key(member_membership)
    admins_key, _ = make_key(admin_membership)
    with pytest.raises(ApiKey.DoesNotExist):  # not even visible to them
        apikey_revoke(principal=principal_for(member_membership), key=admins_key)
    assert reload(admins_key).revoked_at is None
    apikey_revoke(principal=principal_for(admin_membership), key=members_key)
    assert reload(members_key).revoked_by == admin_membership.user


def test_revoke_of_another_orgs_key_is_does_not_exist(
    org: Organization, other_org: Organization, owner_membership: Membership
) -> None:
    foreign, _ = make_key(MembershipFactory(organization=other_org, role=Role.OWNER))
    with pytest.raises(ApiKey.DoesNotExist):
        apikey_revoke(principal=principal_for(owner_membership), key=foreign)
    assert reload(foreign).revoked_at is None


# apikey_roll


def test_roll_makes_a_twin_and_keeps_the_old_key_for_the_overlap(
    org: Organization, member_membership: Membership
) -> None:
    project = ProjectFactory(organization=org)
    old, old_plaintext = make_key(
        member_membership,
        scopes=["documents:write"],
        project=project,
        expires_at=timezone.now() + timedelta(days=30),
    )
    before = timezone.now()
    new, plaintext = apikey_roll(
        principal=principal_for(member_membership), key=old, overlap=timedelta(hours=24)
    )
    old = reload(old)
    assert plaintext != old_plaintext
    assert new.digest != old.digest
    assert (new.name, new.project, new.scopes, new.created_by) == (
        old.name,
        project,
        old.scopes,
        old.created_by,
    )
    # The same 30-day lifetime, counted from the roll.
    assert timedelta(days=30) - timedelta(seconds=5) < new.expires_at - before < timedelta(days=30, seconds=5)
    assert old.replaced_by == new
    assert old.status == ApiKeyStatus.ROLLED
    assert (
        timedelta(hours=24) - timedelta(seconds=5) < old.expires_at - before < timedelta(hours=24, seconds=5)
    )
    [created] = [e for e in events(org, AuditAction.APIKEY_CREATED) if e.target_id == new.public_id]
    [rolled] = events(org, AuditAction.APIKEY_ROLLED)
    assert created.data["rolled_from"] == old.public_id
    assert (rolled.target_id, rolled.data["hint"], rolled.data["new_key"], rolled.data["new_hint"]) == (
        old.public_id,
        old.hint,
        new.public_id,
        new.hint,
    )
    assert rolled.data["overlap_seconds"] == 86400


def test_roll_without_overlap_ends_the_old_key_now_and_records_its_expiry(
    org: Organization, owner_membership: Membership
) -> None:
    old, _ = make_key(owner_membership)
    new, _ = apikey_roll(principal=principal_for(owner_membership), key=old, overlap=timedelta(0))
    old = reload(old)
    assert old.status == ApiKeyStatus.EXPIRED
    assert new.expires_at is None
    assert apikey_expire_due(org=org) == []  # the roll was the expiry: nothing more to record


def test_roll_never_extends_an_expiry_sooner_than_the_overlap(owner_membership: Membership) -> None:
    soon = timezone.now() + timedelta(minutes=30)
    old, _ = make_key(owner_membership, expires_at=soon)
    apikey_roll(principal=principal_for(owner_membership), key=old, overlap=timedelta(days=7))
    assert reload(old).expires_at == soon


def test_only_the_creator_can_roll_and_only_an_active_key(
    org: Organization, member_membership: Membership, admin_membership: Membership
) -> None:
    key, _ = make_key(member_membership)
    with pytest.raises(PermissionDenied):
        apikey_roll(principal=principal_for(admin_membership), key=key, overlap=timedelta(hours=1))
    apikey_roll(principal=principal_for(member_membership), key=key, overlap=timedelta(hours=1))
    with pytest.raises(ValidationError):  # already rolled: roll its replacement instead
        apikey_roll(principal=principal_for(member_membership), key=key, overlap=timedelta(hours=1))
    assert ApiKey.objects.for_org(org).count() == 2


def test_roll_refuses_an_overlap_longer_than_7_days(owner_membership: Membership) -> None:
    key, _ = make_key(owner_membership)
    with pytest.raises(ValidationError) as caught:
        apikey_roll(principal=principal_for(owner_membership), key=key, overlap=timedelta(days=8))
    assert list(caught.value.message_dict) == ["overlap"]
    assert reload(key).replaced_by is None


def test_roll_refuses_scopes_the_creators_role_no_longer_allows(
    org: Organization, admin_membership: Membership
) -> None:
    key, _ = make_key(admin_membership, scopes=["audit:read"])
    Membership.objects.for_org(org).filter(pk=admin_membership.pk).update(role=Role.MEMBER)
    admin_membership.refresh_from_db()
    with pytest.raises(ValidationError):
        apikey_roll(principal=principal_for(admin_membership), key=key, overlap=timedelta(0))
    assert ApiKey.objects.for_org(org).count() == 1


# Expiry sweep


def test_expiry_is_recorded_once_per_key_by_the_system(
    org: Organization, owner_membership: Membership
) -> None:
    expiring, _ = make_key(owner_membership, expires_at=timezone.now() + timedelta(seconds=1))
    make_key(owner_membership, expires_at=timezone.now() + timedelta(days=1))
    make_key(owner_membership)
    ApiKey.objects.for_org(org).filter(pk=expiring.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert apikey_expire_due(org=org) == [expiring]
    assert apikey_expire_due(org=org) == []
    [event] = events(org, AuditAction.APIKEY_EXPIRED)
    assert (event.channel, event.actor, event.target_id, event.data["hint"]) == (
        Channel.SYSTEM,
        None,
        expiring.public_id,
        expiring.hint,
    )


def test_expiry_sweep_skips_revoked_keys(org: Organization, owner_membership: Membership) -> None:
    key, _ = make_key(owner_membership, expires_at=timezone.now() + timedelta(seconds=1))
    apikey_revoke(principal=principal_for(owner_membership), key=key)
    ApiKey.objects.for_org(org).filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert apikey_expire_due(org=org) == []


def test_a_deleted_project_takes_its_keys_along_never_widens_them() -> None:
    # Projects are PROTECTed by their audit events, so this is the database's rule for the day one is
    # deleted (by an operator, or a future retention job): CASCADE, never SET_NULL (= every project).
    assert ApiKey._meta.get_field("project").remote_field.on_delete is models.CASCADE
    assert ApiKey._meta.get_field("created_by").remote_field.on_delete is models.CASCADE


def test_keys_offer_at_least_the_scopes_the_issue_names() -> None:
    assert ALL_SCOPES == [
        "projects:read",
        "projects:write",
        "documents:read",
        "documents:write",
        "members:read",
        "audit:read",
    ]

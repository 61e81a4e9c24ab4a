"""Row-level security (accounts/core/rls.py): the database refuses what the application might forget.

The PostgreSQL cases run raw SQL as the application role (the suite's `gatehouse_test_app`, see
tests/conftest.py), which owns nothing and cannot bypass the policies.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.audit.models import OwnerAccess
from accounts.audit.owner_access import OwnerCommand
from accounts.core import rls
from accounts.core.rls_policies import POLICIES
from accounts.orgs.models import CredentialGeneration, Invitation
from apikeys.models import ApiKey
from apikeys.services import apikey_revoke
from tests.factories import (
    AuditEventFactory,
    DocumentFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
    principal_for,
)
from tests.support.apikeys import make_key


def tenant_tables() -> set[str]:
    """Every table with an `organization` foreign key: each must have a policy."""
    return {
        model._meta.db_table
        for model in apps.get_models()
        if any(f.name == "organization" and f.is_relation for f in model._meta.concrete_fields)
        and not model._meta.db_table.endswith("credentialgeneration")
    }


def test_every_org_owned_table_has_a_policy() -> None:
    assert tenant_tables() == {policy.table for policy in POLICIES}


@pytest.fixture
def postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")


@contextlib.contextmanager
def app_role() -> Iterator[None]:
    """Raw SQL as the application role outside any scope (a scope switches to it by itself)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {settings.DATABASE_APP_ROLE}")
        try:
            yield
        finally:
            cursor.execute("RESET ROLE")


def count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - the policies' own table names
        return int(cursor.fetchone()[0])


@pytest.mark.django_db
def test_the_role_of_the_suite_is_bound(postgresql: None) -> None:
    with app_role(), connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db
def test_a_raw_query_that_forgets_the_organization_returns_nothing(
    org, other_org, owner_membership, postgresql
) -> None:
    DocumentFactory(organization=org)
    DocumentFactory(organization=other_org)
    make_key(owner_membership)
    AuditEventFactory(organization=org)
    assert count("accounts_document") == 2  # as the owner, which the policies do not bind
    with app_role():
        for policy in POLICIES:
            assert count(policy.table) == 0, policy.table


@pytest.mark.django_db
def test_a_scope_sees_its_organization_only(org, other_org, postgresql) -> None:
    mine, theirs = DocumentFactory(organization=org), DocumentFactory(organization=other_org)
    with rls.tenant_scope(organization_id=org.pk), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_document")
        assert [row[0] for row in cursor.fetchall()] == [mine.pk]
        cursor.execute("UPDATE accounts_document SET title = 'x' WHERE id = %s", [theirs.pk])
        assert cursor.rowcount == 0
        cursor.execute("DELETE FROM accounts_project WHERE id = %s", [theirs.project_id])
        assert cursor.rowcount == 0
    assert rls.current() is None


@pytest.mark.django_db
def test_a_scope_cannot_write_into_another_organization(org, other_org, postgresql) -> None:
    project = ProjectFactory(organization=other_org)
    insert = (
        "INSERT INTO accounts_project (public_id, organization_id, name, slug, description, created_at, "
        "updated_at) VALUES ('prj_rls', %s, 'x', 'x', '', now(), now())"
    )
    with (
        pytest.raises(DatabaseError, match="row-level security"),
        transaction.atomic(),  # a savepoint: the transaction goes on after the refusal
        rls.tenant_scope(organization_id=org.pk),
        connection.cursor() as cursor,
    ):
        cursor.execute(insert, [other_org.pk])
    with rls.tenant_scope(organization_id=org.pk), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_project SET organization_id = %s WHERE id = %s", [org.pk, project.pk])
        assert cursor.rowcount == 0  # not even visible, so not movable


@pytest.mark.django_db
def test_a_person_sees_their_own_memberships_and_organizations(org, other_org, postgresql) -> None:
    person = UserFactory()
    MembershipFactory(organization=org, user=person)
    MembershipFactory(organization=other_org)  # someone else, elsewhere
    stranger_project = ProjectFactory(organization=other_org)
    own_project = ProjectFactory(organization=org)
    with rls.tenant_scope(user_id=person.pk), connection.cursor() as cursor:
        cursor.execute("SELECT organization_id, user_id FROM accounts_membership")
        assert cursor.fetchall() == [(org.pk, person.pk)]
        cursor.execute("SELECT id FROM accounts_project")
        assert [row[0] for row in cursor.fetchall()] == [own_project.pk]
    assert stranger_project.pk != own_project.pk


@pytest.mark.django_db
def test_narrowing_a_persons_scope_to_an_organization_hides_their_others(org, other_org, postgresql) -> None:
    person = UserFactory()
    MembershipFactory(organization=org, user=person)
    MembershipFactory(organization=other_org, user=person)
    ProjectFactory(organization=org)
    ProjectFactory(organization=other_org)
    with rls.tenant_scope(user_id=person.pk):
        assert count("accounts_project") == 2
        rls.narrow(organization_id=org.pk)
        assert count("accounts_project") == 1
    assert rls.current() is None


@pytest.mark.django_db
def test_a_confirmed_address_sees_its_invitations_only(org, other_org, owner_principal, postgresql) -> None:
    now = timezone.now()
    for organization, email in ((org, "ann@example.com"), (other_org, "bob@example.com")):
        Invitation.all_orgs.create(
            organization=organization,
            email=email,
            token_hash=hashlib.sha256(email.encode()).hexdigest(),
            expires_at=now + timedelta(days=1),
        )
    with rls.tenant_scope(email="ANN@example.com"), connection.cursor() as cursor:
        cursor.execute("SELECT email FROM accounts_invitation")
        assert cursor.fetchall() == [("ann@example.com",)]


@pytest.mark.django_db
def test_a_secret_finds_its_organization_and_nothing_else(
    org, other_org, owner_membership, postgresql
) -> None:
    key, _secret = make_key(owner_membership)
    DocumentFactory(organization=other_org)
    with rls.scope_of_secret(kind="apikey", lookup=key.digest) as organization_id:
        assert organization_id == org.pk
        assert count("apikeys_apikey") == 1
        assert count("accounts_document") == 0
    with rls.scope_of_secret(kind="apikey", lookup="0" * 64) as organization_id:
        assert organization_id is None
        assert count("apikeys_apikey") == 0
    with pytest.raises(ValueError, match="unknown secret kind"), rls.scope_of_secret(kind="doc", lookup="1"):
        pass


@pytest.mark.django_db
def test_generations_are_readable_and_bumped_by_triggers_only(org, owner_membership, postgresql) -> None:
    key, _secret = make_key(owner_membership)
    before = CredentialGeneration.objects.get(organization=org).value
    with app_role(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_credentialgeneration SET value = 0")
        assert cursor.rowcount == 0  # the application role cannot move a counter itself
    with rls.tenant_scope(organization_id=org.pk):
        apikey_revoke(
            principal=principal_for(owner_membership), key=ApiKey.objects.for_org(org).get(pk=key.pk)
        )
    # ...but its revocation did, through the trigger, which runs as the owner.
    assert CredentialGeneration.objects.get(organization=org).value > before


@pytest.mark.django_db
def test_the_sealer_finds_organizations_left_unsealed_across_tenants(org, other_org, postgresql) -> None:
    from accounts.audit.chain import organizations_left_unsealed

    AuditEventFactory(organization=org, hash="")
    AuditEventFactory(organization=other_org, hash="")
    later = timezone.now() + timedelta(minutes=1)
    with app_role():
        assert organizations_left_unsealed(committed_before=later) == sorted([org.pk, other_org.pk])


@pytest.mark.django_db
def test_nested_scopes_restore_the_enclosing_one(org, other_org, postgresql) -> None:
    with rls.tenant_scope(organization_id=org.pk):
        ProjectFactory(organization=org)
        with rls.tenant_scope(organization_id=other_org.pk):
            assert rls.current() == rls.Scope(other_org.pk)
            assert count("accounts_project") == 0
        assert rls.current() == rls.Scope(org.pk)
        assert count("accounts_project") == 1
        with pytest.raises(ZeroDivisionError), rls.tenant_scope(organization_id=other_org.pk):
            1 / 0  # noqa: B018
        assert count("accounts_project") == 1


@pytest.mark.django_db
def test_scopes_are_no_ops_without_row_level_security() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("SQLite's behaviour")
    blocks = len(connection.atomic_blocks)
    with rls.tenant_scope(organization_id=1):
        assert len(connection.atomic_blocks) == blocks  # no transaction, no statement
        assert rls.current() is None
    with rls.tenant_transaction(organization_id=1):
        assert len(connection.atomic_blocks) == blocks + 1  # still a transaction of its own


# The audited bypass


@pytest.mark.django_db
def test_a_command_run_as_owner_is_recorded(org, capsys) -> None:
    # The test database's own migration, recorded once its table existed.
    migrated = OwnerAccess.objects.filter(command="migrate").first()
    assert migrated is not None
    assert (migrated.reason, migrated.outcome) == ("schema migration", "ok")
    assert migrated.finished_at is not None
    assert migrated.started_at <= migrated.finished_at
    known = list(OwnerAccess.objects.values_list("pk", flat=True))
    call_command("as_owner", "--reason", "quarterly check", "audit_verify", "--org", org.slug)
    outer, inner = OwnerAccess.objects.exclude(pk__in=known).order_by("pk")
    assert (outer.command, outer.reason, outer.outcome) == ("audit_verify", "quarterly check", "ok")
    assert (inner.command, inner.outcome) == ("audit_verify", "ok")
    assert inner.reason.startswith("verifies")
    assert outer.finished_at is not None
    assert outer.pid > 0
    assert f"{org.slug}: ok" in capsys.readouterr().out


@pytest.mark.django_db
def test_a_failed_owner_run_is_recorded_as_failed() -> None:
    OwnerAccess.objects.all().delete()
    with pytest.raises(CommandError):
        call_command("as_owner", "--reason", "typo", "audit_verify", "--org", "no-such-org")
    assert list(OwnerAccess.objects.filter(outcome="error").values_list("command", flat=True)) == [
        "audit_verify",
        "audit_verify",
    ]


def test_an_owner_command_must_say_why() -> None:
    class Nameless(OwnerCommand):
        def handle(self, *args: object, **options: object) -> None:
            pass

    with pytest.raises(TypeError, match="owner_reason"):
        Nameless().execute(no_color=True, force_color=False, skip_checks=True)


@pytest.mark.django_db
def test_grant_app_role_refuses_a_role_that_would_not_be_bound() -> None:
    if connection.vendor != "postgresql":
        with pytest.raises(CommandError, match="PostgreSQL"):
            call_command("grant_app_role", "anyone")
        return
    with pytest.raises(CommandError, match="superuser or has BYPASSRLS"):
        call_command("grant_app_role", "postgres")
    with pytest.raises(CommandError, match="identifier"):
        call_command("grant_app_role", "x; DROP TABLE y")
    with pytest.raises(CommandError, match="no role"):
        call_command("grant_app_role", "gatehouse_nobody_at_all")


@pytest.mark.django_db
def test_grant_app_role_creates_a_bound_login_role() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    # Inside the test's transaction: the role disappears with its rollback.
    call_command("grant_app_role", "gatehouse_test_created", "--create")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole FROM pg_roles"
            " WHERE rolname = 'gatehouse_test_created'"
        )
        assert cursor.fetchone() == (True, False, False, False, False)
        cursor.execute(
            "SELECT has_table_privilege('gatehouse_test_created', 'accounts_document', 'TRUNCATE')"
        )
        assert cursor.fetchone() == (False,)
        cursor.execute("SELECT has_table_privilege('gatehouse_test_created', 'accounts_document', 'SELECT')")
        assert cursor.fetchone() == (True,)

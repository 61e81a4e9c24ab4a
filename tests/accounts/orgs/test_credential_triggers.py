"""The triggers that tell every worker a cached credential is stale (accounts/orgs/credential_triggers.py).

Driven with raw SQL, as an SQL console, a data migration or a `QuerySet.update()` would change the
rows: a trigger, not a service, is what must notice.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from accounts.models import CredentialGeneration, Membership, OAuthAccessToken, OAuthApplication, Organization
from accounts.orgs.credential_triggers import WATCHED
from tests.factories import MembershipFactory, OrganizationFactory, ProjectFactory
from tests.support.apikeys import make_key

pytestmark = pytest.mark.django_db


def generation(org: Organization) -> int:
    return CredentialGeneration.objects.get(organization=org).value


def columns(table: str) -> list[str]:
    model = apps.get_model(WATCHED[table].model)
    return [f.column for f in model._meta.concrete_fields if not f.primary_key]


@pytest.fixture
def rows(app: OAuthApplication) -> dict[str, tuple[Organization, int]]:
    """One row of every watched table, all concerning one organization: table → (org, pk)."""
    membership = MembershipFactory()
    org = membership.organization
    project = ProjectFactory(organization=org)
    key, _ = make_key(membership)
    token = OAuthAccessToken.objects.create(
        user=membership.user,
        application=app,
        organization=org,
        token="",
        token_checksum="0" * 64,
        expires=timezone.now() + timedelta(hours=1),
        scope="projects:read",
    )
    return {
        "accounts_organization": (org, org.pk),
        "accounts_user": (org, membership.user.pk),
        "accounts_membership": (org, membership.pk),
        "accounts_project": (org, project.pk),
        "apikeys_apikey": (org, key.pk),
        "accounts_oauthaccesstoken": (org, token.pk),
        "accounts_oauthapplication": (org, app.pk),
    }


def test_every_credential_table_is_watched() -> None:
    tables = {"accounts_organization", "accounts_user", "accounts_membership", "accounts_project"}
    tables |= {"apikeys_apikey", "accounts_oauthaccesstoken", "accounts_oauthapplication"}
    assert set(WATCHED) == tables


def test_every_organization_has_a_generation() -> None:
    org = OrganizationFactory()
    assert generation(org) == 0


@pytest.mark.parametrize("table", sorted(WATCHED))
def test_setting_a_watched_column_bumps_and_an_ignored_one_does_not(
    table: str, rows: dict[str, tuple[Organization, int]]
) -> None:
    """Each column, set to its own value: `UPDATE OF` fires on the SET list, so this covers them all.

    A column added to a model later and neither listed as ignored nor covered by a new migration
    calling `install()` fails here: the trigger, built from the historical model, does not know it.
    """
    org, pk = rows[table]
    ignored = WATCHED[table].ignored
    assert ignored <= set(columns(table)) | {"id"}, "an ignored column that does not exist"
    for column in columns(table):
        before = generation(org)
        with connection.cursor() as cursor:
            cursor.execute(f'UPDATE {table} SET "{column}" = "{column}" WHERE id = %s', [pk])  # noqa: S608
        bumped = generation(org) > before
        assert bumped == (column not in ignored), f"{table}.{column}: bumped={bumped}"


@pytest.mark.parametrize("table", sorted(set(WATCHED) - {"accounts_organization", "accounts_user"}))
def test_deleting_a_row_bumps(table: str, rows: dict[str, tuple[Organization, int]]) -> None:
    org, pk = rows[table]
    before = generation(org)
    if table == "accounts_oauthapplication":  # its tokens must go first: the collector's way
        OAuthApplication.objects.filter(pk=pk).delete()
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608
    assert generation(org) > before


def test_an_update_bumps_the_old_and_the_new_organization() -> None:
    """A membership moved between organizations (nothing does that, but SQL can) stales both."""
    membership = MembershipFactory()
    old, new = membership.organization, OrganizationFactory()
    before_old, before_new = generation(old), generation(new)
    Membership.objects.for_org(old).filter(pk=membership.pk).update(organization=new)
    assert generation(old) > before_old
    assert generation(new) > before_new


def test_a_change_elsewhere_leaves_other_organizations_alone() -> None:
    membership, bystander = MembershipFactory(), MembershipFactory()
    before = generation(bystander.organization)
    Membership.objects.for_org(membership.organization).filter(pk=membership.pk).update(role="viewer")
    assert generation(bystander.organization) == before


def test_deleting_an_organization_deletes_its_generation() -> None:
    """No row: the cache never answers for that organization again (a miss, then a failed lookup)."""
    org = OrganizationFactory()
    org.delete()
    assert not CredentialGeneration.objects.filter(organization_id=org.pk).exists()

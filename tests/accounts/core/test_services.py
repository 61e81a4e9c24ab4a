"""`validated_save`: everything `full_clean` checks, minus the lookups that could not fail."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from accounts.core.services import validated_save
from accounts.models import Document, Organization, Project
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_loaded_foreign_keys_are_not_looked_up_again(
    org: Organization, django_assert_num_queries: Any
) -> None:
    project = ProjectFactory(organization=org)
    user = UserFactory()
    document = Document(organization=org, project=project, title="Plan", created_by=user, updated_by=user)
    with django_assert_num_queries(1):  # the INSERT (in a savepoint-free autocommit: no BEGIN logged)
        validated_save(document)
    assert document.public_id.startswith("doc_")


def test_a_foreign_key_given_as_an_id_is_still_checked(org: Organization) -> None:
    project = Project(organization=org, name="Plan", slug="plan", created_by_id=999_999)
    with pytest.raises(ValidationError) as refused:
        validated_save(project)
    assert "created_by" in refused.value.message_dict


def test_constraints_over_loaded_foreign_keys_are_still_checked(org: Organization) -> None:
    ProjectFactory(organization=org, slug="handbook")
    duplicate = Project(organization=org, name="Again", slug="handbook")
    with pytest.raises(ValidationError) as refused:
        validated_save(duplicate)
    assert "__all__" in refused.value.message_dict
    assert not Project.objects.for_org(org).filter(name="Again").exists()


def test_field_errors_are_all_reported_at_once(org: Organization) -> None:
    project = Project(organization=org, name="x" * 101, slug="not a slug")
    with pytest.raises(ValidationError) as refused:
        validated_save(project)
    assert {"name", "slug"} <= set(refused.value.message_dict)

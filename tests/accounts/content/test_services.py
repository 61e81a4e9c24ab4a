"""Projects and documents: the services and their selectors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.audit.models import AuditAction
from accounts.content.selectors import document_get, document_list, project_get, project_list
from accounts.content.services import (
    document_create,
    document_delete,
    document_update,
    project_create,
    project_set_archived,
    project_update,
)
from accounts.core.permissions import Permission, Role
from accounts.core.principal import MissingPermission, Principal
from accounts.models import AuditEvent, Document, Organization, Project
from tests.factories import DocumentFactory, MembershipFactory, ProjectFactory, principal_for

pytestmark = pytest.mark.django_db

WRITERS = [Role.OWNER, Role.ADMIN, Role.MEMBER]


def events(org: Organization, action: str | None = None) -> list[AuditEvent]:
    queryset = AuditEvent.objects.for_org(org).order_by("id")
    return list(queryset.filter(action=action) if action else queryset)


def principal_with(org: Organization, role: Role) -> Principal:
    return principal_for(MembershipFactory(organization=org, role=role))


def reload(instance: Project | Document) -> Project | Document:
    return type(instance).objects.for_org(instance.organization).get(pk=instance.pk)


# project_create


@pytest.mark.parametrize("role", WRITERS)
def test_project_create_by_writer_saves_and_audits(org: Organization, role: Role) -> None:
    principal = principal_with(org, role)
    project = project_create(principal=principal, name="  Runbooks ", description=" How we operate. ")
    assert (project.name, project.slug, project.description) == ("Runbooks", "runbooks", "How we operate.")
    assert (project.organization, project.created_by) == (org, principal.user)
    [event] = events(org)
    assert (event.action, event.actor, event.project, event.target_type, event.target_id) == (
        AuditAction.PROJECT_CREATED,
        principal.user,
        project,
        "project",
        project.public_id,
    )
    assert event.data == {"slug": "runbooks"}


def test_project_create_by_viewer_is_refused_and_saves_nothing(org: Organization) -> None:
    with pytest.raises(MissingPermission):
        project_create(principal=principal_with(org, Role.VIEWER), name="Runbooks")
    assert not Project.objects.for_org(org).exists()
    assert events(org) == []


def test_project_create_by_token_without_write_scope_is_refused(org: Organization) -> None:
    principal = principal_for(
        MembershipFactory(organization=org, role=Role.OWNER), scopes=frozenset({Permission.PROJECTS_READ})
    )
    with pytest.raises(MissingPermission):
        project_create(principal=principal, name="Runbooks")


def test_project_create_by_project_restricted_credential_is_refused(
    org: Organization, owner_principal: Principal
) -> None:
    project = ProjectFactory(organization=org)
    restricted = principal_for(MembershipFactory(organization=org, role=Role.OWNER), project=project)
    with pytest.raises(PermissionDenied):
        project_create(principal=restricted, name="Another")
    assert Project.objects.for_org(org).count() == 1


def test_project_slug_is_unique_per_org_but_reusable_in_another(
    org: Organization, owner_principal: Principal, other_owner_principal: Principal
) -> None:
    project_create(principal=owner_principal, name="Runbooks")
    with pytest.raises(ValidationError) as error:
        project_create(principal=owner_principal, name="Other name", slug="runbooks")
    assert "already uses the slug “runbooks”" in error.value.message_dict["slug"][0]
    # The auto slug clashes the same way, and names the slug it tried.
    with pytest.raises(ValidationError) as error:
        project_create(principal=owner_principal, name="Runbooks")
    assert "runbooks" in error.value.message_dict["slug"][0]
    assert Project.objects.for_org(org).count() == 1
    assert len(events(org, AuditAction.PROJECT_CREATED)) == 1

    other = project_create(principal=other_owner_principal, name="Runbooks")
    assert (other.slug, other.organization) == ("runbooks", other_owner_principal.organization)


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Проект", ""), ("!!!", ""), ("Runbooks", "not a slug"), ("Runbooks", "a/b"), ("", "")],
)
def test_project_create_refuses_a_missing_or_invalid_slug_or_name(
    org: Organization, owner_principal: Principal, name: str, slug: str
) -> None:
    with pytest.raises(ValidationError) as error:
        project_create(principal=owner_principal, name=name, slug=slug)
    assert set(error.value.message_dict) & {"slug", "name"}
    assert not Project.objects.for_org(org).exists()
    assert events(org) == []


def test_project_create_auto_slug_has_no_trailing_hyphen(owner_principal: Principal) -> None:
    project = project_create(principal=owner_principal, name="a" * 49 + " tail")
    assert project.slug == "a" * 49


# project_update


def test_project_update_records_only_changed_fields(org: Organization, member_principal: Principal) -> None:
    project = ProjectFactory(organization=org, name="Runbooks", slug="runbooks", description="Old")
    updated = project_update(
        principal=member_principal, project=project, name="Runbooks", slug="ops", description="New"
    ).object
    assert (updated.slug, updated.description) == ("ops", "New")
    [event] = events(org, AuditAction.PROJECT_UPDATED)
    assert event.data == {"slug": ["runbooks", "ops"], "description": ["Old", "New"]}
    assert (event.project, event.target_id) == (project, project.public_id)


def test_project_update_without_changes_writes_nothing(
    org: Organization, member_principal: Principal
) -> None:
    project = ProjectFactory(organization=org, name="Runbooks", slug="runbooks", description="Same")
    before = project.updated_at
    project_update(
        principal=member_principal, project=project, name=" Runbooks ", slug="runbooks", description="Same"
    )
    assert reload(project).updated_at == before
    assert events(org) == []


def test_project_update_refuses_a_slug_taken_in_the_org(
    org: Organization, owner_principal: Principal
) -> None:
    ProjectFactory(organization=org, slug="taken")
    project = ProjectFactory(organization=org, name="Mine", slug="mine")
    with pytest.raises(ValidationError) as error:
        project_update(
            principal=owner_principal, project=project, name="Renamed", slug="taken", description=""
        )
    assert "slug" in error.value.message_dict
    assert (reload(project).name, reload(project).slug) == ("Mine", "mine")
    assert events(org) == []


def test_project_update_by_viewer_is_refused(org: Organization) -> None:
    project = ProjectFactory(organization=org, name="Mine")
    with pytest.raises(MissingPermission):
        project_update(
            principal=principal_with(org, Role.VIEWER), project=project, name="X", slug="x", description=""
        )
    assert reload(project).name == "Mine"


def test_project_update_of_another_orgs_project_is_not_found(
    other_org: Organization, owner_principal: Principal
) -> None:
    theirs = ProjectFactory(organization=other_org, name="Theirs")
    with pytest.raises(Project.DoesNotExist):
        project_update(principal=owner_principal, project=theirs, name="Mine now", slug="x", description="")
    assert reload(theirs).name == "Theirs"


# project_set_archived


def test_project_archive_and_unarchive_audit_once_each(
    org: Organization, member_principal: Principal
) -> None:
    project = ProjectFactory(organization=org)
    assert project_set_archived(principal=member_principal, project=project, archived=True).is_archived
    project_set_archived(principal=member_principal, project=project, archived=True)  # already archived
    assert reload(project).is_archived
    assert not project_set_archived(principal=member_principal, project=project, archived=False).is_archived
    assert [(e.action, e.project) for e in events(org)] == [
        (AuditAction.PROJECT_ARCHIVED, project),
        (AuditAction.PROJECT_UNARCHIVED, project),
    ]


def test_project_archive_by_viewer_is_refused(org: Organization) -> None:
    project = ProjectFactory(organization=org)
    with pytest.raises(MissingPermission):
        project_set_archived(principal=principal_with(org, Role.VIEWER), project=project, archived=True)
    assert not reload(project).is_archived


def test_project_archive_of_another_orgs_project_is_not_found(
    other_org: Organization, owner_principal: Principal
) -> None:
    theirs = ProjectFactory(organization=other_org)
    with pytest.raises(Project.DoesNotExist):
        project_set_archived(principal=owner_principal, project=theirs, archived=True)
    assert not reload(theirs).is_archived


# document_create / document_update / document_delete


@pytest.mark.parametrize("role", WRITERS)
def test_document_create_by_writer_saves_and_audits(org: Organization, role: Role) -> None:
    principal = principal_with(org, role)
    project = ProjectFactory(organization=org)
    document = document_create(principal=principal, project=project, title=" Runbook ", body="# Hi\n")
    assert (document.title, document.body, document.project) == ("Runbook", "# Hi\n", project)
    assert (document.created_by, document.updated_by) == (principal.user, principal.user)
    [event] = events(org)
    assert (event.action, event.project, event.target_type, event.target_id) == (
        AuditAction.DOCUMENT_CREATED,
        project,
        "document",
        document.public_id,
    )
    assert event.data == {"title": "Runbook", "length": 5}


def test_document_writes_by_viewer_are_refused(org: Organization) -> None:
    viewer = principal_with(org, Role.VIEWER)
    project = ProjectFactory(organization=org)
    document = DocumentFactory(project=project, title="Kept", body="Kept")
    with pytest.raises(MissingPermission):
        document_create(principal=viewer, project=project, title="New")
    with pytest.raises(MissingPermission):
        document_update(principal=viewer, document=document, title="Changed", body="Changed")
    with pytest.raises(MissingPermission):
        document_delete(principal=viewer, document=document)
    assert list(Document.objects.for_org(org).values_list("title", "body")) == [("Kept", "Kept")]
    assert events(org) == []


def test_document_create_refuses_an_empty_title(org: Organization, owner_principal: Principal) -> None:
    project = ProjectFactory(organization=org)
    with pytest.raises(ValidationError) as error:
        document_create(principal=owner_principal, project=project, title="   ", body="text")
    assert "title" in error.value.message_dict
    assert not Document.objects.for_org(org).exists()
    assert events(org) == []


def test_document_create_in_another_orgs_project_is_not_found(
    other_org: Organization, owner_principal: Principal
) -> None:
    theirs = ProjectFactory(organization=other_org)
    with pytest.raises(Project.DoesNotExist):
        document_create(principal=owner_principal, project=theirs, title="Planted")
    assert not Document.objects.for_org(other_org).exists()


def test_archived_project_refuses_every_document_write(org: Organization, owner_principal: Principal) -> None:
    project = ProjectFactory(organization=org, archived_at=timezone.now())
    document = DocumentFactory(project=project, title="Frozen", body="Frozen")
    for write in (
        lambda: document_create(principal=owner_principal, project=project, title="New"),
        lambda: document_update(principal=owner_principal, document=document, title="Changed", body="x"),
        lambda: document_delete(principal=owner_principal, document=document),
    ):
        with pytest.raises(ValidationError) as error:
            write()
        assert "archived" in error.value.messages[0]
    assert list(Document.objects.for_org(org).values_list("title", "body")) == [("Frozen", "Frozen")]
    assert events(org) == []


def test_document_update_records_changed_fields_and_who(
    org: Organization, member_principal: Principal
) -> None:
    document = DocumentFactory(project=ProjectFactory(organization=org), title="Old", body="Same")
    old_updated_at = document.updated_at - timedelta(days=1)
    Document.objects.for_org(org).filter(pk=document.pk).update(updated_at=old_updated_at)

    updated = document_update(principal=member_principal, document=document, title="New", body="Same").object
    assert (updated.title, updated.updated_by) == ("New", member_principal.user)
    assert updated.updated_at > old_updated_at
    document_update(principal=member_principal, document=document, title="New", body="Longer body")

    first, second = events(org, AuditAction.DOCUMENT_UPDATED)
    assert first.data == {"changed": ["title"], "length": 4, "title": ["Old", "New"]}
    assert second.data == {"changed": ["body"], "length": 11}
    assert (second.project, second.target_id) == (document.project, document.public_id)


def test_document_update_without_changes_writes_nothing(
    org: Organization, member_principal: Principal
) -> None:
    document = DocumentFactory(project=ProjectFactory(organization=org), title="Same", body="Same")
    before = reload(document).updated_at
    document_update(principal=member_principal, document=document, title=" Same ", body="Same")
    assert reload(document).updated_at == before
    assert events(org) == []


def test_document_update_of_another_orgs_document_is_not_found(
    other_org: Organization, owner_principal: Principal
) -> None:
    theirs = DocumentFactory(project=ProjectFactory(organization=other_org), title="Theirs")
    with pytest.raises(Document.DoesNotExist):
        document_update(principal=owner_principal, document=theirs, title="Mine", body="")
    with pytest.raises(Document.DoesNotExist):
        document_delete(principal=owner_principal, document=theirs)
    assert reload(theirs).title == "Theirs"


def test_document_delete_removes_it_and_audits_title(org: Organization, member_principal: Principal) -> None:
    document = DocumentFactory(project=ProjectFactory(organization=org), title="Gone", body="12345")
    public_id = document.public_id
    document_delete(principal=member_principal, document=document)
    assert not Document.objects.for_org(org).exists()
    [event] = events(org)
    assert (event.action, event.target_id, event.target_label, event.project) == (
        AuditAction.DOCUMENT_DELETED,
        public_id,
        "Gone",
        document.project,
    )
    assert event.data == {"title": "Gone", "length": 5}


# Selectors


def test_project_list_hides_other_orgs_and_archived_unless_asked(
    org: Organization, other_org: Organization, owner_principal: Principal
) -> None:
    active = ProjectFactory(organization=org, name="beta")
    first = ProjectFactory(organization=org, name="Alpha")
    archived = ProjectFactory(organization=org, name="Archived", archived_at=timezone.now())
    ProjectFactory(organization=other_org, name="Theirs")
    assert list(project_list(principal=owner_principal)) == [first, active]
    # Active first on every database (PostgreSQL sorts NULLs last by default), names case-insensitively.
    assert list(project_list(principal=owner_principal, include_archived=True)) == [first, active, archived]


def test_project_list_counts_documents_and_last_activity(
    org: Organization, owner_principal: Principal
) -> None:
    empty = ProjectFactory(organization=org, name="A empty")
    busy = ProjectFactory(organization=org, name="B busy")
    later = busy.updated_at + timedelta(hours=1)
    DocumentFactory(project=busy)
    DocumentFactory(project=busy, updated_at=later)
    by_name = {p.name: p for p in project_list(principal=owner_principal)}
    assert (by_name["A empty"].document_count, by_name["A empty"].last_activity_at) == (0, empty.updated_at)
    assert (by_name["B busy"].document_count, by_name["B busy"].last_activity_at) == (2, later)


def test_project_and_document_getters_treat_other_orgs_as_missing(
    other_org: Organization, owner_principal: Principal
) -> None:
    theirs = DocumentFactory(project=ProjectFactory(organization=other_org, slug="theirs"))
    with pytest.raises(Project.DoesNotExist):
        project_get(principal=owner_principal, slug="theirs")
    with pytest.raises(Document.DoesNotExist):
        document_get(principal=owner_principal, public_id=theirs.public_id)


def test_document_list_searches_title_and_body_within_the_project(
    org: Organization, owner_principal: Principal
) -> None:
    project = ProjectFactory(organization=org)
    by_title = DocumentFactory(project=project, title="Backup guide", body="x")
    by_body = DocumentFactory(project=project, title="Restore", body="from the BACKUP bucket")
    DocumentFactory(project=project, title="Unrelated", body="y")
    DocumentFactory(project=ProjectFactory(organization=org), title="Backup elsewhere")
    found = set(document_list(principal=owner_principal, project=project, query="backup"))
    assert found == {by_title, by_body}
    assert len(document_list(principal=owner_principal, project=project)) == 3

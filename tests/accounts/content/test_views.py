"""Project and document pages: permissions per role, tenancy, archived projects, errors, query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.audit.models import AuditAction
from accounts.core.permissions import Role
from accounts.models import AuditEvent, Document, Organization, Project, User
from tests.factories import DocumentFactory, MembershipFactory, ProjectFactory
from tests.support.queries import NARROW, REQUEST, with_rls

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(org: Organization) -> Project:
    return ProjectFactory(organization=org, name="Runbooks", slug="runbooks", description="How we operate.")


@pytest.fixture
def document(project: Project) -> Document:
    return DocumentFactory(project=project, title="Deploying", body="# Deploy\n\nRun `make deploy`.")


@pytest.fixture
def theirs(other_org: Organization) -> Document:
    """Another organization's project (same slug as ours would be) and document."""
    project = ProjectFactory(organization=other_org, name="Theirs", slug="secret", description="Theirs.")
    return DocumentFactory(project=project, title="Their secret", body="Their body")


def login_as(client: Client, org: Organization, role: Role) -> User:
    user = MembershipFactory(organization=org, role=role).user
    client.force_login(user)
    return user


def page(response: Any) -> str:
    return response.content.decode()


def message_texts(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def actions(org: Organization) -> list[str]:
    return list(AuditEvent.objects.for_org(org).order_by("id").values_list("action", flat=True))


def reload(instance: Project | Document) -> Project | Document:
    return type(instance).objects.for_org(instance.organization).get(pk=instance.pk)


def projects_url(org: Organization, **query: str) -> str:
    url = reverse("accounts:projects", args=[org.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def project_url(project: Project, name: str = "project_detail") -> str:
    return reverse(f"accounts:{name}", args=[project.organization.slug, project.slug])


def document_url(document: Document, name: str = "document_detail") -> str:
    return reverse(f"accounts:{name}", args=[document.organization.slug, document.public_id])


# Project list


def test_anonymous_visitor_is_sent_to_sign_in(client: Client, org: Organization) -> None:
    response = client.get(projects_url(org))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_project_list_shows_active_projects_with_counts(
    client: Client, org: Organization, project: Project, document: Document
) -> None:
    ProjectFactory(organization=org, name="Old plans", archived_at=timezone.now())
    login_as(client, org, Role.MEMBER)
    response = client.get(projects_url(org))
    assert response.status_code == 200
    body = page(response)
    assert "Runbooks" in body
    assert "How we operate." in body
    assert "Old plans" not in body
    assert "Show 1 archived project" in body
    assert [p.document_count for p in response.context["projects"]] == [1]
    assert reverse("accounts:project_create", args=[org.slug]) in body
    assert 'aria-current="page"' in body


def test_project_list_shows_archived_projects_on_request(
    client: Client, org: Organization, project: Project
) -> None:
    ProjectFactory(organization=org, name="Old plans", archived_at=timezone.now())
    login_as(client, org, Role.MEMBER)
    body = page(client.get(projects_url(org, archived="1")))
    assert "Archived projects" in body
    assert "Old plans" in body
    assert "Hide archived projects" in body


def test_project_list_for_viewer_offers_no_writes(
    client: Client, org: Organization, project: Project
) -> None:
    login_as(client, org, Role.VIEWER)
    body = page(client.get(projects_url(org)))
    assert "Runbooks" in body
    assert reverse("accounts:project_create", args=[org.slug]) not in body


def test_project_list_empty_state_explains_and_offers_to_create(client: Client, org: Organization) -> None:
    login_as(client, org, Role.MEMBER)
    body = page(client.get(projects_url(org)))
    assert "No projects yet" in body
    assert "A project is a shared folder of markdown documents" in body
    assert "Create the first project" in body


def test_project_list_empty_state_for_viewer_says_who_can_create(client: Client, org: Organization) -> None:
    login_as(client, org, Role.VIEWER)
    body = page(client.get(projects_url(org)))
    assert "No projects yet" in body
    assert "Create the first project" not in body
    assert "Ask a member or an admin" in body


def test_project_list_when_everything_is_archived(client: Client, org: Organization) -> None:
    ProjectFactory(organization=org, name="Old plans", archived_at=timezone.now())
    login_as(client, org, Role.MEMBER)
    body = page(client.get(projects_url(org)))
    assert "No active projects" in body
    assert "Show 1 archived project" in body


def test_project_list_hides_other_orgs_projects(client: Client, org: Organization, theirs: Document) -> None:
    login_as(client, org, Role.OWNER)
    body = page(client.get(projects_url(org)))
    assert "Theirs" not in body
    assert "No projects yet" in body


@pytest.mark.parametrize("count", [1, 10])
def test_project_list_query_count_does_not_grow(
    client: Client, org: Organization, django_assert_num_queries: Any, count: int
) -> None:
    for n in range(count):
        DocumentFactory(project=ProjectFactory(organization=org))
        ProjectFactory(organization=org, name=f"Archived {n}", archived_at=timezone.now())
    login_as(client, org, Role.MEMBER)
    # session, user, membership + organization, projects with counts, switcher organizations
    with django_assert_num_queries(with_rls(5, statements=REQUEST + NARROW)):
        response = client.get(projects_url(org, archived="1"))
    assert len(response.context["projects"]) == count


# Creating and editing projects


def test_create_project_with_auto_slug(client: Client, org: Organization) -> None:
    user = login_as(client, org, Role.MEMBER)
    response = client.post(
        reverse("accounts:project_create", args=[org.slug]),
        {"name": "Product specs", "slug": "", "description": "What we build."},
    )
    project = Project.objects.for_org(org).get()
    assert (project.slug, project.description, project.created_by) == (
        "product-specs",
        "What we build.",
        user,
    )
    assert response.status_code == 302
    assert response["Location"] == project_url(project)
    assert message_texts(response) == ["Project “Product specs” created."]
    assert actions(org) == [AuditAction.PROJECT_CREATED]


def test_create_project_form_page(client: Client, org: Organization) -> None:
    login_as(client, org, Role.MEMBER)
    response = client.get(reverse("accounts:project_create", args=[org.slug]))
    assert response.status_code == 200
    body = page(response)
    assert 'for="id_name"' in body
    assert "Leave it blank to make one from the name." in body


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "Runbooks", "slug": ""}, "slug", "already uses the slug “runbooks”"),
        ({"name": "Another", "slug": "runbooks"}, "slug", "already uses the slug “runbooks”"),
        ({"name": "Another", "slug": "not a slug"}, "slug", "Enter a valid"),
        ({"name": "Проект", "slug": ""}, "slug", "Enter a slug"),
        ({"name": "", "slug": "ok"}, "name", "This field is required."),
    ],
)
def test_create_project_shows_field_errors_and_saves_nothing(
    client: Client, org: Organization, project: Project, data: dict[str, str], field: str, message: str
) -> None:
    login_as(client, org, Role.MEMBER)
    response = client.post(reverse("accounts:project_create", args=[org.slug]), data)
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert message in page(response).replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert Project.objects.for_org(org).count() == 1
    assert actions(org) == []


def test_same_slug_is_fine_in_another_org(client: Client, org: Organization, theirs: Document) -> None:
    login_as(client, org, Role.MEMBER)
    response = client.post(reverse("accounts:project_create", args=[org.slug]), {"name": "Secret"})
    assert response.status_code == 302
    assert Project.objects.for_org(org).get().slug == "secret"


def test_viewer_cannot_create_projects(client: Client, org: Organization) -> None:
    login_as(client, org, Role.VIEWER)
    url = reverse("accounts:project_create", args=[org.slug])
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "Sneaky"}).status_code == 403
    assert not Project.objects.for_org(org).exists()


def test_edit_project_changes_slug_and_redirects_to_new_url(
    client: Client, org: Organization, project: Project
) -> None:
    login_as(client, org, Role.MEMBER)
    response = client.get(project_url(project, "project_edit"))
    assert response.status_code == 200
    assert response.context["form"].initial == {
        "name": "Runbooks",
        "slug": "runbooks",
        "description": "How we operate.",
    }
    response = client.post(
        project_url(project, "project_edit"), {"name": "Ops", "slug": "ops", "description": "Operations."}
    )
    project = reload(project)
    assert (project.name, project.slug) == ("Ops", "ops")
    assert response["Location"] == project_url(project)
    assert message_texts(response) == ["Project saved."]
    assert actions(org) == [AuditAction.PROJECT_UPDATED]


def test_edit_project_without_changes_says_so(client: Client, org: Organization, project: Project) -> None:
    login_as(client, org, Role.MEMBER)
    response = client.post(
        project_url(project, "project_edit"),
        {"name": "Runbooks", "slug": "runbooks", "description": "How we operate."},
    )
    assert message_texts(response) == ["Nothing changed."]
    assert actions(org) == []


@pytest.mark.parametrize(
    ("slug", "message"), [("taken", "already uses the slug"), ("", "This field is required.")]
)
def test_edit_project_errors_keep_the_project_unchanged(
    client: Client, org: Organization, project: Project, slug: str, message: str
) -> None:
    ProjectFactory(organization=org, slug="taken")
    login_as(client, org, Role.MEMBER)
    response = client.post(project_url(project, "project_edit"), {"name": "Renamed", "slug": slug})
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors["slug"])
    # The page still links to the project's real (unchanged) URL.
    assert project_url(project) in page(response)
    assert (reload(project).name, reload(project).slug) == ("Runbooks", "runbooks")
    assert actions(org) == []


def test_viewer_cannot_edit_projects(client: Client, org: Organization, project: Project) -> None:
    login_as(client, org, Role.VIEWER)
    assert client.get(project_url(project, "project_edit")).status_code == 403
    response = client.post(project_url(project, "project_edit"), {"name": "X", "slug": "x"})
    assert response.status_code == 403
    assert reload(project).name == "Runbooks"


# Archiving


def test_archive_and_unarchive_project(client: Client, org: Organization, project: Project) -> None:
    login_as(client, org, Role.MEMBER)
    response = client.post(project_url(project, "project_archive"), {"archived": "true"})
    assert response["Location"] == project_url(project)
    assert reload(project).is_archived
    assert "Its documents are read-only until you unarchive it." in message_texts(response)[0]
    client.post(project_url(project, "project_archive"), {"archived": "false"})
    assert not reload(project).is_archived
    assert actions(org) == [AuditAction.PROJECT_ARCHIVED, AuditAction.PROJECT_UNARCHIVED]


def test_archive_needs_post_and_a_clear_choice(client: Client, org: Organization, project: Project) -> None:
    login_as(client, org, Role.MEMBER)
    assert client.get(project_url(project, "project_archive")).status_code == 405
    assert client.post(project_url(project, "project_archive"), {"archived": "yes"}).status_code == 400
    assert client.post(project_url(project, "project_archive")).status_code == 400
    assert not reload(project).is_archived
    assert actions(org) == []


def test_viewer_cannot_archive(client: Client, org: Organization, project: Project) -> None:
    login_as(client, org, Role.VIEWER)
    assert client.post(project_url(project, "project_archive"), {"archived": "true"}).status_code == 403
    assert not reload(project).is_archived


def test_archive_form_asks_for_confirmation(client: Client, org: Organization, project: Project) -> None:
    login_as(client, org, Role.MEMBER)
    body = page(client.get(project_url(project)))
    assert 'name="archived" value="true"' in body
    assert "data-confirm=" in body


# Project detail


def test_project_detail_lists_documents_with_write_actions(
    client: Client, org: Organization, project: Project, document: Document
) -> None:
    login_as(client, org, Role.MEMBER)
    response = client.get(project_url(project))
    assert response.status_code == 200
    body = page(response)
    assert "Deploying" in body
    assert document_url(document) in body
    assert reverse("accounts:document_create", args=[org.slug, project.slug]) in body
    assert project_url(project, "project_edit") in body
    assert project_url(project, "project_archive") in body


def test_project_detail_for_viewer_is_read_only(
    client: Client, org: Organization, project: Project, document: Document
) -> None:
    login_as(client, org, Role.VIEWER)
    body = page(client.get(project_url(project)))
    assert document_url(document) in body
    assert reverse("accounts:document_create", args=[org.slug, project.slug]) not in body
    assert project_url(project, "project_edit") not in body
    assert project_url(project, "project_archive") not in body


def test_project_detail_search(client: Client, org: Organization, project: Project) -> None:
    DocumentFactory(project=project, title="Backup guide", body="x")
    DocumentFactory(project=project, title="Restore", body="from the backup bucket")
    DocumentFactory(project=project, title="Unrelated", body="y")
    login_as(client, org, Role.VIEWER)
    response = client.get(project_url(project), {"q": " backup "})
    titles = [d.title for d in response.context["documents"]]
    assert sorted(titles) == ["Backup guide", "Restore"]
    assert 'value="backup"' in page(response)
    assert "2 documents match “backup”." in page(response)
    response = client.get(project_url(project), {"q": "nothing-like-this"})
    assert "No matching documents" in page(response)


def test_project_detail_empty_state(client: Client, org: Organization, project: Project) -> None:
    login_as(client, org, Role.MEMBER)
    body = page(client.get(project_url(project)))
    assert "No documents yet" in body
    assert "Write the first document" in body


def test_archived_project_detail_says_why_it_is_read_only(
    client: Client, org: Organization, project: Project, document: Document
) -> None:
    Project.objects.for_org(org).filter(pk=project.pk).update(archived_at=timezone.now())
    login_as(client, org, Role.OWNER)
    body = page(client.get(project_url(project)))
    assert "This project is archived, so its documents are read-only." in body
    assert "Unarchive project" in body
    assert reverse("accounts:document_create", args=[org.slug, project.slug]) not in body


@pytest.mark.parametrize("count", [1, 10])
def test_project_detail_query_count_does_not_grow(
    client: Client, org: Organization, project: Project, django_assert_num_queries: Any, count: int
) -> None:
    for _ in range(count):
        DocumentFactory(project=project, updated_by=MembershipFactory(organization=org).user)
    login_as(client, org, Role.MEMBER)
    # session, user, membership + organization, project, count, documents + updated_by, switcher
    with django_assert_num_queries(with_rls(7, statements=REQUEST + NARROW)):
        response = client.get(project_url(project))
    assert len(response.context["documents"]) == count


def test_project_detail_paginates(client: Client, org: Organization, project: Project) -> None:
    for _ in range(51):
        DocumentFactory(project=project)
    login_as(client, org, Role.MEMBER)
    response = client.get(project_url(project))
    assert len(response.context["documents"]) == 50
    assert "page=2" in page(response)
    assert len(client.get(project_url(project), {"page": "2"}).context["documents"]) == 1
    assert client.get(project_url(project), {"page": "9"}).status_code == 404


# Documents


def test_create_document(client: Client, org: Organization, project: Project) -> None:
    user = login_as(client, org, Role.MEMBER)
    url = reverse("accounts:document_create", args=[org.slug, project.slug])
    assert client.get(url).status_code == 200
    response = client.post(url, {"title": " Runbook ", "body": "# Hi\r\n\r\n    indented code\r\n"})
    document = Document.objects.for_org(org).get()
    # Browsers send CRLF; stored text uses LF like every other channel, with leading spaces kept.
    assert (document.title, document.body) == ("Runbook", "# Hi\n\n    indented code\n")
    assert (document.project, document.created_by, document.updated_by) == (project, user, user)
    assert response["Location"] == document_url(document)
    assert message_texts(response) == ["Document “Runbook” created."]
    assert actions(org) == [AuditAction.DOCUMENT_CREATED]


def test_create_document_error_keeps_the_text(client: Client, org: Organization, project: Project) -> None:
    login_as(client, org, Role.MEMBER)
    url = reverse("accounts:document_create", args=[org.slug, project.slug])
    response = client.post(url, {"title": "  ", "body": "Precious draft"})
    assert response.status_code == 200
    assert response.context["form"].errors["title"] == ["This field is required."]
    assert "Precious draft" in page(response)
    assert not Document.objects.for_org(org).exists()


def test_create_document_in_archived_project_is_refused_and_explained(
    client: Client, org: Organization, project: Project
) -> None:
    Project.objects.for_org(org).filter(pk=project.pk).update(archived_at=timezone.now())
    login_as(client, org, Role.MEMBER)
    url = reverse("accounts:document_create", args=[org.slug, project.slug])
    response = client.get(url)
    assert response["Location"] == project_url(project)
    assert "archived" in message_texts(response)[0]
    # A POST (the project was archived after the form was opened) keeps the text and says why.
    response = client.post(url, {"title": "Late", "body": "Draft"})
    assert response.status_code == 200
    assert "This project is archived" in str(response.context["form"].non_field_errors())
    assert "Draft" in page(response)
    assert not Document.objects.for_org(org).exists()


def test_viewer_cannot_create_documents(client: Client, org: Organization, project: Project) -> None:
    login_as(client, org, Role.VIEWER)
    url = reverse("accounts:document_create", args=[org.slug, project.slug])
    assert client.get(url).status_code == 403
    assert client.post(url, {"title": "Sneaky"}).status_code == 403
    assert not Document.objects.for_org(org).exists()


def test_document_detail_renders_safe_markdown_and_metadata(
    client: Client, org: Organization, project: Project
) -> None:
    author = MembershipFactory(organization=org, user__name="Ada Author").user
    document = DocumentFactory(
        project=project,
        created_by=author,
        updated_by=author,
        body=(
            "# Deploy\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
            "<script>alert(1)</script> [x](javascript:alert(1))"
        ),
    )
    login_as(client, org, Role.MEMBER)
    response = client.get(document_url(document))
    assert response.status_code == 200
    body = page(response)
    assert "<h2>Deploy</h2>" in body
    assert "<table>" in body
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'href="javascript:' not in body
    assert "by Ada Author" in body
    assert document.public_id in body
    assert document_url(document, "document_edit") in body
    assert document_url(document, "document_delete") in body


def test_document_detail_for_viewer_is_read_only(
    client: Client, org: Organization, document: Document
) -> None:
    login_as(client, org, Role.VIEWER)
    body = page(client.get(document_url(document)))
    assert "<h2>Deploy</h2>" in body
    assert document_url(document, "document_edit") not in body
    assert document_url(document, "document_delete") not in body


def test_document_detail_in_archived_project_offers_no_writes(
    client: Client, org: Organization, project: Project, document: Document
) -> None:
    Project.objects.for_org(org).filter(pk=project.pk).update(archived_at=timezone.now())
    login_as(client, org, Role.OWNER)
    body = page(client.get(document_url(document)))
    assert "This project is archived, so its documents are read-only." in body
    assert document_url(document, "document_edit") not in body
    assert document_url(document, "document_delete") not in body


def test_document_detail_query_count(
    client: Client, org: Organization, document: Document, django_assert_num_queries: Any
) -> None:
    login_as(client, org, Role.MEMBER)
    # session, user, membership + organization, document + project + authors, switcher
    with django_assert_num_queries(with_rls(5, statements=REQUEST + NARROW)):
        assert client.get(document_url(document)).status_code == 200


def test_edit_document(client: Client, org: Organization, document: Document) -> None:
    user = login_as(client, org, Role.MEMBER)
    response = client.get(document_url(document, "document_edit"))
    assert response.context["form"].initial == {"title": "Deploying", "body": document.body}
    response = client.post(document_url(document, "document_edit"), {"title": "Deploying", "body": "New"})
    document = reload(document)
    assert (document.body, document.updated_by) == ("New", user)
    assert response["Location"] == document_url(document)
    assert message_texts(response) == ["Document saved."]
    [event] = AuditEvent.objects.for_org(org)
    assert (event.action, event.data["changed"]) == (AuditAction.DOCUMENT_UPDATED, ["body"])


def test_edit_document_without_changes_says_so(client: Client, org: Organization, document: Document) -> None:
    login_as(client, org, Role.MEMBER)
    response = client.post(
        document_url(document, "document_edit"),
        {"title": document.title, "body": document.body.replace("\n", "\r\n")},
    )
    assert message_texts(response) == ["Nothing changed."]
    assert actions(org) == []


def test_edit_document_error_changes_nothing(client: Client, org: Organization, document: Document) -> None:
    login_as(client, org, Role.MEMBER)
    response = client.post(document_url(document, "document_edit"), {"title": "", "body": "Changed"})
    assert response.status_code == 200
    assert response.context["form"].errors["title"] == ["This field is required."]
    assert 'aria-invalid="true"' in page(response)
    assert reload(document).body == document.body
    assert actions(org) == []


def test_edit_document_in_archived_project_is_refused(
    client: Client, org: Organization, project: Project, document: Document
) -> None:
    Project.objects.for_org(org).filter(pk=project.pk).update(archived_at=timezone.now())
    login_as(client, org, Role.MEMBER)
    response = client.get(document_url(document, "document_edit"))
    assert response["Location"] == document_url(document)
    response = client.post(document_url(document, "document_edit"), {"title": "T", "body": "Changed"})
    assert response.status_code == 200
    assert "This project is archived" in str(response.context["form"].non_field_errors())
    assert reload(document).body == document.body


def test_viewer_cannot_edit_or_delete_documents(
    client: Client, org: Organization, document: Document
) -> None:
    login_as(client, org, Role.VIEWER)
    assert client.get(document_url(document, "document_edit")).status_code == 403
    assert client.post(document_url(document, "document_edit"), {"title": "X"}).status_code == 403
    assert client.get(document_url(document, "document_delete")).status_code == 403
    assert client.post(document_url(document, "document_delete")).status_code == 403
    assert reload(document).title == "Deploying"


def test_delete_document_asks_then_deletes(
    client: Client, org: Organization, project: Project, document: Document
) -> None:
    login_as(client, org, Role.MEMBER)
    response = client.get(document_url(document, "document_delete"))
    assert response.status_code == 200
    assert "Delete “Deploying”?" in page(response)
    assert Document.objects.for_org(org).exists()
    response = client.post(document_url(document, "document_delete"))
    assert response["Location"] == project_url(project)
    assert message_texts(response) == ["Document “Deploying” deleted."]
    assert not Document.objects.for_org(org).exists()
    assert actions(org) == [AuditAction.DOCUMENT_DELETED]


def test_delete_document_in_archived_project_is_refused(
    client: Client, org: Organization, project: Project, document: Document
) -> None:
    Project.objects.for_org(org).filter(pk=project.pk).update(archived_at=timezone.now())
    login_as(client, org, Role.MEMBER)
    assert client.get(document_url(document, "document_delete"))["Location"] == document_url(document)
    response = client.post(document_url(document, "document_delete"))
    assert response["Location"] == document_url(document)
    assert "archived" in message_texts(response)[0]
    assert Document.objects.for_org(org).exists()


# Tenancy: another organization's project or document is exactly a missing one, for every view.


def _urls(org: Organization, slug: str, doc_id: str) -> list[tuple[str, dict[str, str], set[str]]]:
    """Every content view: URL, POST data, and the methods it answers (others are 405 for everyone)."""
    return [
        (reverse("accounts:project_detail", args=[org.slug, slug]), {}, {"get"}),
        (
            reverse("accounts:project_edit", args=[org.slug, slug]),
            {"name": "Pwned", "slug": "pwned"},
            {"get", "post"},
        ),
        (reverse("accounts:project_archive", args=[org.slug, slug]), {"archived": "true"}, {"post"}),
        (
            reverse("accounts:document_create", args=[org.slug, slug]),
            {"title": "Planted", "body": "x"},
            {"get", "post"},
        ),
        (reverse("accounts:document_detail", args=[org.slug, doc_id]), {}, {"get"}),
        (
            reverse("accounts:document_edit", args=[org.slug, doc_id]),
            {"title": "Pwned", "body": "x"},
            {"get", "post"},
        ),
        (reverse("accounts:document_delete", args=[org.slug, doc_id]), {}, {"get", "post"}),
    ]


def assert_theirs_untouched(org: Organization, other_org: Organization, theirs: Document) -> None:
    project = reload(theirs.project)
    assert (project.name, project.slug, project.is_archived) == ("Theirs", "secret", False)
    assert list(Document.objects.for_org(other_org).values_list("title", "body")) == [
        ("Their secret", "Their body")
    ]
    assert not Document.objects.for_org(org).exists()
    assert actions(org) == []
    assert actions(other_org) == []


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("index", range(7))
def test_other_orgs_project_or_document_answers_like_a_missing_one(
    client: Client, org: Organization, other_org: Organization, theirs: Document, method: str, index: int
) -> None:
    login_as(client, org, Role.OWNER)
    url, data, methods = _urls(org, theirs.project.slug, theirs.public_id)[index]
    missing_url, _, _ = _urls(org, "no-such-project", "doc_nosuchdocument00")[index]
    response = getattr(client, method)(url, data)
    assert response.status_code == (404 if method in methods else 405)
    assert getattr(client, method)(missing_url, data).status_code == response.status_code
    assert_theirs_untouched(org, other_org, theirs)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("index", range(7))
def test_non_member_gets_404_on_other_orgs_urls(
    client: Client, org: Organization, other_org: Organization, theirs: Document, method: str, index: int
) -> None:
    login_as(client, org, Role.OWNER)
    url, data, _ = _urls(other_org, theirs.project.slug, theirs.public_id)[index]
    assert getattr(client, method)(url, data).status_code == 404
    assert_theirs_untouched(org, other_org, theirs)

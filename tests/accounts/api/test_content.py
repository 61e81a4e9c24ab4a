"""Projects and documents over the REST API: the same services, JSON in and out, JSON errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.audit.models import AuditAction
from accounts.models import AuditEvent, Document, Membership, Organization, Project
from tests.factories import DocumentFactory, ProjectFactory
from tests.support.api import Api
from tests.support.apikeys import make_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(owner_membership: Membership) -> str:
    return make_key(owner_membership)[1]


@pytest.fixture
def handbook(org: Organization) -> Project:
    return ProjectFactory(organization=org, slug="handbook", name="Handbook")


# Projects


def test_list_projects_active_by_name_archived_on_request(api: Api, org: Organization, key: str) -> None:
    ProjectFactory(organization=org, slug="zeta", name="Zeta")
    ProjectFactory(organization=org, slug="alpha", name="Alpha")
    ProjectFactory(organization=org, slug="old", name="Old", archived_at=timezone.now())
    assert [p["slug"] for p in api("GET", "/api/v1/projects/", key).json()] == ["alpha", "zeta"]
    everything = api("GET", "/api/v1/projects/", key, {"include_archived": "true"}).json()
    assert [p["slug"] for p in everything] == ["alpha", "zeta", "old"]
    assert everything[2]["archived"] is True
    assert set(everything[0]) == {
        "id",
        "slug",
        "name",
        "description",
        "archived",
        "archived_at",
        "created_at",
        "updated_at",
        "document_count",
    }
    assert everything[0]["id"].startswith("prj_")


def test_create_project_returns_201_and_is_audited(api: Api, org: Organization, key: str) -> None:
    response = api("POST", "/api/v1/projects/", key, {"name": "Runbooks", "description": "Ops."})
    assert response.status_code == 201
    assert (response.json()["slug"], response.json()["description"]) == ("runbooks", "Ops.")
    assert Project.objects.for_org(org).filter(slug="runbooks").exists()
    assert AuditEvent.objects.for_org(org).filter(action=AuditAction.PROJECT_CREATED).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Ok", "slug": "not a slug"}, "slug"),
        ({"name": "Handbook two", "slug": "handbook"}, "slug"),  # the service's uniqueness check
    ],
)
def test_create_project_with_bad_fields_is_400_with_field_errors(
    api: Api, org: Organization, handbook: Project, key: str, body: dict[str, str], field: str
) -> None:
    response = api("POST", "/api/v1/projects/", key, body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert list(response.json()["fields"]) == [field]
    assert Project.objects.for_org(org).count() == 1


def test_malformed_json_is_400_not_500(api: Api, key: str) -> None:
    response = api.client.post(
        "/api/v1/projects/",
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_update_project_changes_only_what_is_sent(api: Api, handbook: Project, key: str) -> None:
    response = api("PATCH", "/api/v1/projects/handbook/", key, {"slug": "guide"})
    assert response.status_code == 200
    assert (response.json()["slug"], response.json()["name"]) == ("guide", "Handbook")
    assert api("GET", "/api/v1/projects/handbook/", key).status_code == 404
    assert api("GET", "/api/v1/projects/guide/", key).json()["description"] == handbook.description


def test_archive_and_unarchive_are_idempotent(
    api: Api, org: Organization, handbook: Project, key: str
) -> None:
    assert api("POST", "/api/v1/projects/handbook/archive/", key).json()["archived"] is True
    assert api("POST", "/api/v1/projects/handbook/archive/", key).json()["archived"] is True
    assert AuditEvent.objects.for_org(org).filter(action=AuditAction.PROJECT_ARCHIVED).count() == 1
    assert api("POST", "/api/v1/projects/handbook/unarchive/", key).json()["archived"] is False


def test_wrong_method_is_a_json_405(api: Api, handbook: Project, key: str) -> None:
    response = api("DELETE", "/api/v1/projects/handbook/", key)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


# Documents


def test_list_documents_newest_first_with_search_and_cursor_pages(
    api: Api, handbook: Project, key: str
) -> None:
    now = timezone.now()
    for n in range(5):
        DocumentFactory(
            project=handbook, title=f"Note {n}", body="plain", updated_at=now - timedelta(minutes=n)
        )
    DocumentFactory(
        project=handbook, title="Deploy guide", body="How to ship", updated_at=now - timedelta(hours=1)
    )
    first = api("GET", "/api/v1/projects/handbook/documents/", key, {"limit": 2}).json()
    assert [d["title"] for d in first["results"]] == ["Note 0", "Note 1"]
    assert first["previous_cursor"] is None
    second = api(
        "GET", "/api/v1/projects/handbook/documents/", key, {"limit": 2, "cursor": first["next_cursor"]}
    )
    assert [d["title"] for d in second.json()["results"]] == ["Note 2", "Note 3"]
    assert "body" not in first["results"][0]  # lists stay light; GET one document for its body
    found = api("GET", "/api/v1/projects/handbook/documents/", key, {"q": "ship"}).json()
    assert [d["title"] for d in found["results"]] == ["Deploy guide"]
    assert found["next_cursor"] is None


def test_a_forged_cursor_is_400(api: Api, handbook: Project, key: str) -> None:
    response = api("GET", "/api/v1/projects/handbook/documents/", key, {"cursor": "forged"})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["cursor"]


def test_create_get_update_delete_a_document(
    api: Api, org: Organization, handbook: Project, key: str
) -> None:
    created = api("POST", "/api/v1/projects/handbook/documents/", key, {"title": "Hello", "body": "# Hi\n"})
    assert created.status_code == 201
    doc_id = created.json()["id"]
    assert doc_id.startswith("doc_")
    path = f"/api/v1/documents/{doc_id}/"
    got = api("GET", path, key).json()
    assert (got["title"], got["body"], got["project"], got["created_by"]) == (
        "Hello",
        "# Hi\n",
        "handbook",
        "owner@acme.test",
    )
    updated = api("PATCH", path, key, {"body": "# Changed\n"}).json()
    assert (updated["title"], updated["body"]) == ("Hello", "# Changed\n")
    assert api("DELETE", path, key).status_code == 204
    assert api("GET", path, key).status_code == 404
    actions = list(AuditEvent.objects.for_org(org).order_by("id").values_list("action", "channel"))
    assert actions[-3:] == [
        ("document.created", "api"),
        ("document.updated", "api"),
        ("document.deleted", "api"),
    ]


def test_an_empty_document_update_is_400(api: Api, handbook: Project, key: str) -> None:
    doc = DocumentFactory(project=handbook)
    response = api("PATCH", f"/api/v1/documents/{doc.public_id}/", key, {})
    assert response.status_code == 400
    assert response.json()["fields"] == {"non_field_errors": ["Send a title, a body, or both."]}


def test_documents_of_an_archived_project_are_read_only(
    api: Api, org: Organization, handbook: Project, key: str
) -> None:
    doc = DocumentFactory(project=handbook)
    api("POST", "/api/v1/projects/handbook/archive/", key)
    assert api("GET", f"/api/v1/documents/{doc.public_id}/", key).status_code == 200
    response = api("POST", "/api/v1/projects/handbook/documents/", key, {"title": "Late"})
    assert response.status_code == 400
    assert "archived" in response.json()["fields"]["non_field_errors"][0]
    assert api("DELETE", f"/api/v1/documents/{doc.public_id}/", key).status_code == 400
    assert Document.objects.for_org(org).count() == 1


def test_the_api_speaks_json_only(api: Api, key: str) -> None:
    form = api.client.post("/api/v1/projects/", {"name": "Form"}, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert form.status_code == 415
    assert form.json()["error"] == "unsupported_media_type"
    browser = api("GET", "/api/v1/projects/", key, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert browser["Content-Type"] == "application/json"

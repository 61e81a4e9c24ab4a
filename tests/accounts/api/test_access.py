"""Every REST endpoint enforces scopes, the role behind the key, the key's project and the organization."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from accounts.core.bearer import InvalidToken
from accounts.core.permissions import Role
from accounts.models import Document, Membership, Organization, Project
from apikeys.services import apikey_revoke
from tests.factories import DocumentFactory, MembershipFactory, ProjectFactory, principal_for
from tests.support.api import Api
from tests.support.apikeys import ALL_SCOPES, make_key

pytestmark = pytest.mark.django_db


@dataclass
class World:
    org: Organization
    owner: Membership
    alpha: Project
    beta: Project
    alpha_doc: Document
    beta_doc: Document
    foreign_project: Project
    foreign_doc: Document
    foreign_member: Membership


@pytest.fixture
def world(org: Organization, other_org: Organization, owner_membership: Membership) -> World:
    alpha = ProjectFactory(organization=org, slug="alpha", name="Alpha")
    beta = ProjectFactory(organization=org, slug="beta", name="Beta")
    foreign = ProjectFactory(organization=other_org, slug="gamma")
    return World(
        org=org,
        owner=owner_membership,
        alpha=alpha,
        beta=beta,
        alpha_doc=DocumentFactory(project=alpha),
        beta_doc=DocumentFactory(project=beta),
        foreign_project=foreign,
        foreign_doc=DocumentFactory(project=foreign),
        foreign_member=MembershipFactory(organization=other_org, role=Role.OWNER),
    )


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {project}, {document} and {member} are filled in per test
    scope: str | None
    body: dict[str, Any] | None = None
    ok: int = 200

    def url(self, *, project: str, document: str, member: str) -> str:
        return self.path.format(project=project, document=document, member=member)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint("GET", "/api/v1/whoami/", None),
    Endpoint("GET", "/api/v1/projects/", "projects:read"),
    Endpoint("POST", "/api/v1/projects/", "projects:write", {"name": "Brand new"}, ok=201),
    Endpoint("GET", "/api/v1/projects/{project}/", "projects:read"),
    Endpoint("PATCH", "/api/v1/projects/{project}/", "projects:write", {"description": "Changed."}),
    Endpoint("POST", "/api/v1/projects/{project}/archive/", "projects:write"),
    Endpoint("POST", "/api/v1/projects/{project}/unarchive/", "projects:write"),
    Endpoint("GET", "/api/v1/projects/{project}/documents/", "documents:read"),
    Endpoint(
        "POST", "/api/v1/projects/{project}/documents/", "documents:write", {"title": "New doc"}, ok=201
    ),
    Endpoint("GET", "/api/v1/documents/{document}/", "documents:read"),
    Endpoint("PATCH", "/api/v1/documents/{document}/", "documents:write", {"title": "Renamed"}),
    Endpoint("DELETE", "/api/v1/documents/{document}/", "documents:write", ok=204),
    Endpoint("GET", "/api/v1/members/", "members:read"),
    Endpoint("GET", "/api/v1/members/{member}/", "members:read"),
    Endpoint("GET", "/api/v1/audit-events/", "audit:read"),
]
SCOPED = [e for e in ENDPOINTS if e.scope]
# Endpoints that name one project's object: another project's, or another organization's, is 404.
OBJECT_ENDPOINTS = [e for e in ENDPOINTS if "{" in e.path]


def targets(world: World, *, foreign: bool = False, other_project: bool = False) -> dict[str, str]:
    if foreign:
        return {
            "project": world.foreign_project.slug,
            "document": world.foreign_doc.public_id,
            "member": world.foreign_member.public_id,
        }
    project, doc = (world.beta, world.beta_doc) if other_project else (world.alpha, world.alpha_doc)
    return {"project": project.slug, "document": doc.public_id, "member": world.owner.public_id}


def without(scope: str) -> list[str]:
    """Every scope except `scope` and any write scope that would bring it back (write implies read)."""
    implied_by = {scope, scope.replace(":read", ":write")}
    return [s for s in ALL_SCOPES if s not in implied_by]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_every_endpoint_refuses_a_missing_key_with_401(api: Api, world: World, endpoint: Endpoint) -> None:
    response = api(endpoint.method, endpoint.url(**targets(world)), None, endpoint.body)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="Gatehouse API"'
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_every_endpoint_refuses_a_revoked_key_with_401(api: Api, world: World, endpoint: Endpoint) -> None:
    key, plaintext = make_key(world.owner)
    apikey_revoke(principal=principal_for(world.owner), key=key)
    response = api(endpoint.method, endpoint.url(**targets(world)), plaintext, endpoint.body)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": str(InvalidToken.description)}


@pytest.mark.parametrize("endpoint", SCOPED, ids=str)
def test_every_endpoint_needs_its_scope(api: Api, world: World, endpoint: Endpoint) -> None:
    _, plaintext = make_key(world.owner, scopes=without(endpoint.scope))  # type: ignore[arg-type]
    response = api(endpoint.method, endpoint.url(**targets(world)), plaintext, endpoint.body)
    assert response.status_code == 403, response.content
    assert response.json()["error"] == "insufficient_scope"
    assert response.json()["scope"] == endpoint.scope
    assert f'scope="{endpoint.scope}"' in response["WWW-Authenticate"]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_every_endpoint_works_with_just_its_scope(api: Api, world: World, endpoint: Endpoint) -> None:
    _, plaintext = make_key(world.owner, scopes=[endpoint.scope or "members:read"])
    response = api(endpoint.method, endpoint.url(**targets(world)), plaintext, endpoint.body)
    assert response.status_code == endpoint.ok, response.content


@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS, ids=str)
def test_another_organizations_objects_are_404_like_missing_ones(
    api: Api, world: World, endpoint: Endpoint
) -> None:
    _, plaintext = make_key(world.owner, scopes=ALL_SCOPES)
    foreign = api(endpoint.method, endpoint.url(**targets(world, foreign=True)), plaintext, endpoint.body)
    missing = api(
        endpoint.method,
        endpoint.url(
            project="no-such-project", document="doc_nosuchdocument00", member="mem_nosuchmember000"
        ),
        plaintext,
        endpoint.body,
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json() == {"error": "not_found", "error_description": "Not found."}


@pytest.mark.parametrize("endpoint", [e for e in OBJECT_ENDPOINTS if "{member}" not in e.path], ids=str)
def test_a_project_key_cannot_reach_another_project(api: Api, world: World, endpoint: Endpoint) -> None:
    _, plaintext = make_key(world.owner, scopes=ALL_SCOPES, project=world.alpha)
    response = api(
        endpoint.method, endpoint.url(**targets(world, other_project=True)), plaintext, endpoint.body
    )
    assert response.status_code == 404
    assert (
        api(endpoint.method, endpoint.url(**targets(world)), plaintext, endpoint.body).status_code
        == endpoint.ok
    )


def test_a_project_key_lists_only_its_project_and_cannot_create_projects(api: Api, world: World) -> None:
    _, plaintext = make_key(world.owner, scopes=ALL_SCOPES, project=world.alpha)
    assert [p["slug"] for p in api("GET", "/api/v1/projects/", plaintext).json()] == ["alpha"]
    response = api("POST", "/api/v1/projects/", plaintext, {"name": "Sneaky"})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert not Project.objects.for_org(world.org).filter(name="Sneaky").exists()
    assert api("GET", "/api/v1/whoami/", plaintext).json()["project"] == "alpha"


def test_a_project_key_sees_only_its_projects_audit_events(api: Api, world: World) -> None:
    _, full = make_key(world.owner, scopes=ALL_SCOPES)
    api("POST", "/api/v1/projects/alpha/documents/", full, {"title": "In alpha"})
    api("POST", "/api/v1/projects/beta/documents/", full, {"title": "In beta"})
    _, alpha_only = make_key(world.owner, scopes=ALL_SCOPES, project=world.alpha)
    events = api("GET", "/api/v1/audit-events/", alpha_only).json()["results"]
    assert {e["project"] for e in events} == {"alpha"}
    assert "In alpha" in str(events)
    assert "In beta" not in str(events)


def test_the_creators_role_caps_a_key_whatever_its_scopes(api: Api, world: World) -> None:
    member = MembershipFactory(organization=world.org, role=Role.MEMBER)
    _, plaintext = make_key(member, scopes=["documents:write"])
    path = f"/api/v1/documents/{world.alpha_doc.public_id}/"
    assert api("PATCH", path, plaintext, {"title": "By a member"}).status_code == 200
    Membership.objects.for_org(world.org).filter(pk=member.pk).update(role=Role.VIEWER)
    response = api("PATCH", path, plaintext, {"title": "By a viewer"})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert response.json()["permission"] == "documents:write"
    assert api("GET", path, plaintext).json()["title"] == "By a member"


def test_a_key_whose_member_left_is_refused_on_the_next_request(api: Api, world: World) -> None:
    member = MembershipFactory(organization=world.org, role=Role.MEMBER)
    _, plaintext = make_key(member)
    assert api("GET", "/api/v1/projects/", plaintext).status_code == 200
    Membership.objects.for_org(world.org).filter(pk=member.pk).delete()
    response = api("GET", "/api/v1/projects/", plaintext)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"

"""Members (read) and the audit log (read, filtered, cursor-paginated) over the REST API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Membership, Organization
from tests.factories import MembershipFactory, ProjectFactory
from tests.support.api import Api
from tests.support.apikeys import make_key
from tests.support.queries import NARROW, NESTED, REQUEST, SECRET, with_rls

pytestmark = pytest.mark.django_db


def test_members_are_listed_owners_first_with_public_ids(
    api: Api,
    org: Organization,
    owner_membership: Membership,
    member_membership: Membership,
    other_org: Organization,
) -> None:
    MembershipFactory(organization=other_org)
    _, key = make_key(member_membership, scopes=["members:read"])
    members = api("GET", "/api/v1/members/", key).json()
    assert [(m["user"]["email"], m["role"]) for m in members] == [
        ("owner@acme.test", "owner"),
        ("member@acme.test", "member"),
    ]
    assert members[0]["id"] == owner_membership.public_id
    assert api("GET", f"/api/v1/members/{owner_membership.public_id}/", key).json()["role"] == "owner"


@pytest.fixture
def admin_key(admin_membership: Membership) -> str:
    return make_key(admin_membership)[1]


def test_audit_events_newest_first_with_cursor_pages(api: Api, org: Organization, admin_key: str) -> None:
    for n in range(5):
        api("POST", "/api/v1/projects/", admin_key, {"name": f"Project {n}"})
    first = api("GET", "/api/v1/audit-events/", admin_key, {"limit": 2, "action": "project.created"}).json()
    assert [e["data"]["slug"] for e in first["results"]] == ["project-4", "project-3"]
    event = first["results"][0]
    assert (event["channel"], event["actor"], event["project"]) == ("api", "admin@acme.test", "project-4")
    assert event["credential"]["kind"] == "api_key"
    assert event["target"]["type"] == "project"
    second = api(
        "GET",
        "/api/v1/audit-events/",
        admin_key,
        {"limit": 2, "action": "project.created", "cursor": first["next_cursor"]},
    ).json()
    assert [e["data"]["slug"] for e in second["results"]] == ["project-2", "project-1"]
    back = api(
        "GET",
        "/api/v1/audit-events/",
        admin_key,
        {"limit": 2, "action": "project.created", "cursor": second["previous_cursor"]},
    ).json()
    assert [e["data"]["slug"] for e in back["results"]] == ["project-4", "project-3"]


def test_audit_filters_by_credential_project_actor_channel_and_time(
    api: Api, org: Organization, admin_membership: Membership, owner_membership: Membership
) -> None:
    ProjectFactory(organization=org, slug="handbook")
    admin_key, admin_plaintext = make_key(admin_membership)
    _, owner_plaintext = make_key(owner_membership)
    api("POST", "/api/v1/projects/handbook/documents/", admin_plaintext, {"title": "By admin"})
    api("POST", "/api/v1/projects/handbook/documents/", owner_plaintext, {"title": "By owner"})

    def titles(**filters: str) -> list[str]:
        response = api(
            "GET", "/api/v1/audit-events/", admin_plaintext, {"action": "document.created", **filters}
        )
        assert response.status_code == 200, response.content
        return [e["data"]["title"] for e in response.json()["results"]]

    assert titles() == ["By owner", "By admin"]
    assert titles(credential=admin_key.public_id) == ["By admin"]
    assert titles(actor="OWNER@acme.test") == ["By owner"]
    assert titles(project="handbook") == ["By owner", "By admin"]
    assert titles(channel="web") == []
    assert titles(since=(timezone.now() + timedelta(minutes=1)).isoformat()) == []
    assert titles(until=(timezone.now() + timedelta(minutes=1)).isoformat()) == ["By owner", "By admin"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"action": "no.such"}, "action"),
        ({"channel": "fax"}, "channel"),
        ({"since": "yesterday"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1000"}, "limit"),
        ({"actor": "stranger@example.com"}, "actor"),
        ({"cursor": "x" * 600}, "cursor"),
    ],
)
def test_bad_audit_filters_are_400_with_the_field(
    api: Api, admin_key: str, params: dict[str, str], field: str
) -> None:
    response = api("GET", "/api/v1/audit-events/", admin_key, params)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]


@pytest.mark.parametrize("filters", [{"project": "no-such-project"}, {"actor": "nobody@example.com"}])
def test_unknown_audit_filter_values_are_400_on_their_field(
    api: Api, admin_key: str, filters: dict[str, str]
) -> None:
    response = api("GET", "/api/v1/audit-events/", admin_key, filters)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == list(filters)


def test_audit_filters_of_another_org_answer_like_unknown_ones(
    api: Api, other_org: Organization, admin_key: str
) -> None:
    ProjectFactory(organization=other_org, slug="secret")
    stranger = MembershipFactory(organization=other_org, user__email="stranger@globex.test")
    for filters in ({"project": "secret"}, {"actor": stranger.user.email}):
        response = api("GET", "/api/v1/audit-events/", admin_key, filters)
        assert response.status_code == 400
        assert list(response.json()["fields"]) == list(filters)


def test_audit_actor_filter_is_one_query_whatever_the_member_count(
    api: Api, org: Organization, admin_key: str, admin_membership, django_assert_max_num_queries
) -> None:
    for _ in range(5):
        MembershipFactory(organization=org)
    with django_assert_max_num_queries(with_rls(5, statements=REQUEST + SECRET + NESTED + NARROW)):
        response = api("GET", "/api/v1/audit-events/", admin_key, {"actor": "ADMIN@acme.test"})
    assert response.status_code == 200

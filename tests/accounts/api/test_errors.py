"""Requests the API cannot serve still get its JSON error shape: bad bodies, unknown addresses, lost roles."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.core.permissions import Role
from accounts.models import Membership, Project
from tests.support.api import Api
from tests.support.apikeys import ALL_SCOPES, make_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_key(owner_membership: Membership) -> str:
    return make_key(owner_membership)[1]


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000,  # deeper than the JSON decoder's recursion limit
        '{"name": "x"',  # cut off
        "\udcff",  # not encodable as UTF-8 by the client, so sent as bytes below
    ],
    ids=["deeply-nested", "truncated", "bad-encoding"],
)
def test_a_malformed_json_body_is_a_400_in_json(client: Client, org, owner_key: str, body: str) -> None:
    data = body.encode("utf-8", "surrogateescape") if body == "\udcff" else body
    response = client.post(
        "/api/v1/projects/", data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {owner_key}"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert not Project.objects.for_org(org).exists()


@pytest.mark.parametrize(
    "path", ["/api/v1/", "/api/v1/nothing-here/", "/api/v1/projects/a/b/c/d/", "/api/v1/projects"]
)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_every_unmatched_api_path_is_a_json_404(client: Client, path: str, method: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "not_found"


def test_a_missing_trailing_slash_is_pointed_out(client: Client) -> None:
    body = client.get("/api/v1/projects").json()
    assert "Did you mean /api/v1/projects/?" in body["error_description"]


def test_dashboard_404s_stay_html(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_member_demoted_to_viewer_keeps_a_key_that_can_only_read(
    api: Api, org, member_membership: Membership
) -> None:
    _, plaintext = make_key(member_membership, scopes=ALL_SCOPES[:4])  # projects and documents, read+write
    assert api("POST", "/api/v1/projects/", plaintext, {"name": "Before"}).status_code == 201
    Membership.objects.for_org(org).filter(pk=member_membership.pk).update(role=Role.VIEWER)
    # The key still lists write scopes, but acts with the role its member has now.
    refused = api("POST", "/api/v1/projects/", plaintext, {"name": "After"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    assert api("GET", "/api/v1/projects/", plaintext).status_code == 200
    whoami = api("GET", "/api/v1/whoami/", plaintext).json()
    assert "projects:write" in whoami["scopes"]
    assert "projects:write" not in whoami["effective_scopes"]
    assert list(Project.objects.for_org(org).values_list("name", flat=True)) == ["Before"]

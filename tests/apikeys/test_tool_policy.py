"""An API key's MCP tool policy: chosen at creation (page, command), shown (REST, page), changed."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.audit.models import AuditAction
from accounts.core.permissions import Role
from accounts.core.toolpolicy import EVERYTHING, READ_ONLY, PolicyPreset, ToolMode, build_tool_policy
from accounts.models import AuditEvent, Membership, Organization
from apikeys.models import ApiKey
from apikeys.services import apikey_revoke, apikey_roll, apikey_set_tool_policy
from tests.factories import MembershipFactory, principal_for
from tests.support.apikeys import bearer, make_key, reload

pytestmark = pytest.mark.django_db

APPROVE_DELETE = build_tool_policy(
    preset="custom", modes={"get_document": "allowed", "delete_document": "approval"}
)


def events(org: Organization, action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.for_org(org).filter(action=action).order_by("seq"))


def test_a_new_key_allows_everything_its_scopes_allow(owner_membership: Membership) -> None:
    key, _plaintext = make_key(owner_membership)
    assert key.tool_policy == {}
    assert key.policy == EVERYTHING


def test_the_creator_changes_the_policy_and_it_is_audited_with_each_changed_tool(
    member_membership: Membership,
) -> None:
    key, _plaintext = make_key(member_membership)
    apikey_set_tool_policy(principal=principal_for(member_membership), key=key, tool_policy=APPROVE_DELETE)
    assert reload(key).policy.mode("delete_document") == ToolMode.APPROVAL
    assert reload(key).policy.mode("list_projects") == ToolMode.HIDDEN
    (event,) = events(key.organization, AuditAction.APIKEY_TOOL_POLICY_CHANGED)
    assert event.data["preset"] == "custom"
    assert event.data["previous_preset"] == "all"
    assert event.data["tools"]["delete_document"] == {"from": "allowed", "to": "approval"}
    assert event.actor == member_membership.user


def test_the_same_policy_again_changes_nothing(member_membership: Membership) -> None:
    key, _plaintext = make_key(member_membership)
    apikey_set_tool_policy(principal=principal_for(member_membership), key=key, tool_policy=EVERYTHING)
    assert events(key.organization, AuditAction.APIKEY_TOOL_POLICY_CHANGED) == []


def test_an_admin_changes_a_members_key_but_another_member_cannot(
    org: Organization, member_membership: Membership, admin_membership: Membership
) -> None:
    key, _plaintext = make_key(member_membership)
    apikey_set_tool_policy(principal=principal_for(admin_membership), key=key, tool_policy=READ_ONLY)
    assert reload(key).policy == READ_ONLY
    other = MembershipFactory(organization=org, role=Role.MEMBER)
    with pytest.raises((ApiKey.DoesNotExist, PermissionDenied)):
        apikey_set_tool_policy(principal=principal_for(other), key=key, tool_policy=EVERYTHING)
    assert reload(key).policy == READ_ONLY


def test_another_organizations_key_is_missing(owner_membership: Membership, other_owner_principal) -> None:  # type: ignore[no-untyped-def]
    key, _plaintext = make_key(owner_membership)
    with pytest.raises(ApiKey.DoesNotExist):
        apikey_set_tool_policy(principal=other_owner_principal, key=key, tool_policy=READ_ONLY)
    assert reload(key).policy == EVERYTHING


def test_a_revoked_key_has_nothing_to_change(owner_membership: Membership) -> None:
    key, _plaintext = make_key(owner_membership)
    apikey_revoke(principal=principal_for(owner_membership), key=key)
    with pytest.raises(ValidationError):
        apikey_set_tool_policy(principal=principal_for(owner_membership), key=key, tool_policy=READ_ONLY)


def test_a_rolled_key_keeps_its_policy(owner_membership: Membership) -> None:
    key, _plaintext = make_key(owner_membership)
    apikey_set_tool_policy(principal=principal_for(owner_membership), key=key, tool_policy=APPROVE_DELETE)
    new, _plaintext = apikey_roll(
        principal=principal_for(owner_membership), key=reload(key), overlap=timedelta(0)
    )
    assert new.policy.describe() == APPROVE_DELETE.describe()
    (created,) = [
        e for e in events(key.organization, AuditAction.APIKEY_CREATED) if e.data.get("rolled_from")
    ]
    assert created.data["tool_policy"]["delete_document"] == "approval"


def test_the_command_creates_a_key_with_named_tools(org: Organization, owner_membership: Membership) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "apikey",
        "create",
        "--org=acme",
        "--name=Docs bot",
        "--scopes=documents:write",
        "--tools=get_document,search_documents",
        "--approve=update_document",
        stdout=out,
        stderr=err,
    )
    key = ApiKey.objects.for_org(org).get(name="Docs bot")
    assert key.policy.preset == PolicyPreset.CUSTOM
    assert key.policy.mode("get_document") == ToolMode.ALLOWED
    assert key.policy.mode("update_document") == ToolMode.APPROVAL
    assert key.policy.mode("delete_document") == ToolMode.HIDDEN
    assert "MCP tools search_documents,get_document,update_document(approval)" in err.getvalue()
    listing = io.StringIO()
    call_command("apikey", "list", "--org=acme", stdout=listing)
    assert "tools=search_documents,get_document" in listing.getvalue()


def test_the_command_refuses_an_unknown_tool(org: Organization, owner_membership: Membership) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="Unknown tool: drop_everything"):
        call_command(
            "apikey",
            "create",
            "--org=acme",
            "--name=x",
            "--scopes=projects:read",
            "--tools=drop_everything",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert not ApiKey.objects.for_org(org).exists()


def test_rest_whoami_shows_the_keys_policy(client: Client, owner_membership: Membership) -> None:
    key, plaintext = make_key(owner_membership)
    apikey_set_tool_policy(principal=principal_for(owner_membership), key=key, tool_policy=APPROVE_DELETE)
    body = client.get("/api/v1/whoami/", **bearer(plaintext)).json()
    assert body["tool_policy"]["preset"] == "custom"
    assert body["tool_policy"]["tools"]["delete_document"] == "approval"
    assert body["tool_policy"]["tools"]["list_projects"] == "hidden"  # the key's owner sees it all
    assert "whoami" not in body["tool_policy"]["tools"]


# The pages


def detail_url(key: ApiKey) -> str:
    return reverse("apikeys:detail", args=[key.organization.slug, key.public_id])


def test_the_create_page_sets_a_read_only_policy(client: Client, owner_membership: Membership) -> None:
    client.force_login(owner_membership.user)
    page = client.get(reverse("apikeys:create", args=["acme"]))
    assert 'name="tool_preset"' in page.text
    assert 'name="tool__delete_document"' in page.text
    nonce = page.context["form"]["nonce"].value()
    created = client.post(
        reverse("apikeys:create", args=["acme"]),
        {
            "name": "Reader",
            "project": "",
            "access": "full",
            "expiry": "90",
            "tool_preset": "read_only",
            "nonce": nonce,
        },
    )
    assert created.status_code == 200, created.text[:1000]
    key = ApiKey.objects.for_org(owner_membership.organization).get(name="Reader")
    assert key.policy == READ_ONLY


def test_the_key_page_changes_the_policy_tool_by_tool(client: Client, member_membership: Membership) -> None:
    key, _plaintext = make_key(member_membership)
    client.force_login(member_membership.user)
    page = client.get(detail_url(key))
    assert page.status_code == 200
    assert "tool-policy" in page.text
    data = {"tool_preset": "custom", "tool__get_document": "allowed", "tool__delete_document": "approval"}
    saved = client.post(detail_url(key), data, follow=True)
    assert saved.redirect_chain[-1][0] == detail_url(key)
    assert reload(key).policy.describe() == APPROVE_DELETE.describe()
    assert len(events(key.organization, AuditAction.APIKEY_TOOL_POLICY_CHANGED)) == 1


def test_the_key_page_of_another_members_key(
    client: Client, member_membership: Membership, admin_membership: Membership, viewer_membership: Membership
) -> None:
    key, _plaintext = make_key(member_membership)
    client.force_login(viewer_membership.user)
    assert client.get(detail_url(key)).status_code == 404  # a member sees only their own keys
    assert client.post(detail_url(key), {"tool_preset": "read_only"}).status_code == 404
    client.force_login(admin_membership.user)
    assert client.post(detail_url(key), {"tool_preset": "read_only"}).status_code == 302
    assert reload(key).policy == READ_ONLY


def test_the_key_page_of_another_organization_is_missing(
    client: Client, owner_membership: Membership, other_org: Organization
) -> None:
    key, _plaintext = make_key(owner_membership)
    outsider = MembershipFactory(organization=other_org, role=Role.OWNER)
    client.force_login(outsider.user)
    assert client.get(reverse("apikeys:detail", args=["globex", key.public_id])).status_code == 404
    assert (
        client.post(
            reverse("apikeys:detail", args=["globex", key.public_id]), {"tool_preset": "read_only"}
        ).status_code
        == 404
    )
    assert reload(key).policy == EVERYTHING

"""An OAuth connection's MCP tool policy: narrowed on the consent page, kept on refresh, changed later."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts.audit.models import AuditAction
from accounts.core.permissions import Role
from accounts.core.toolpolicy import READ_ONLY, ToolMode, ToolPolicy, build_tool_policy
from accounts.models import (
    AuditEvent,
    Membership,
    OAuthAccessToken,
    OAuthApplication,
    OAuthGrant,
    OAuthRefreshToken,
    Organization,
)
from accounts.oauth.services import connection_set_tool_policy
from tests.factories import MembershipFactory, principal_for
from tests.support.oauth import obtain_tokens, refresh

pytestmark = pytest.mark.django_db

CUSTOM = {"tool_preset": "custom", "tool__get_document": "allowed", "tool__delete_document": "approval"}


def test_the_consent_page_narrows_the_tools_and_every_token_carries_them(
    app: OAuthApplication, org: Organization, member_membership: Membership
) -> None:
    tokens = obtain_tokens(member_membership.user, app, org, form_data=CUSTOM)
    grant = OAuthGrant.objects.get(application=app)
    assert ToolPolicy.from_json(grant.tool_policy).mode("delete_document") == ToolMode.APPROVAL
    (access,) = OAuthAccessToken.objects.filter(application=app, organization=org)
    policy = ToolPolicy.from_json(access.tool_policy)
    assert policy.mode("get_document") == ToolMode.ALLOWED
    assert policy.mode("list_projects") == ToolMode.HIDDEN
    consent = AuditEvent.objects.for_org(org).get(action=AuditAction.OAUTH_CONSENT_GRANTED)
    assert consent.data["tool_policy"]["delete_document"] == "approval"

    renewed = refresh(Client(), app.client_id, tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.content
    live = OAuthRefreshToken.objects.get(application=app, revoked__isnull=True)
    assert ToolPolicy.from_json(live.tool_policy).describe() == policy.describe()
    assert ToolPolicy.from_json(live.access_token.tool_policy).describe() == policy.describe()


def test_a_consent_without_a_choice_allows_everything_the_scopes_allow(
    app: OAuthApplication, org: Organization, member_membership: Membership
) -> None:
    obtain_tokens(member_membership.user, app, org)
    assert OAuthAccessToken.objects.get(application=app, organization=org).tool_policy == {}


def test_the_person_changes_their_connection_and_it_is_audited(
    app: OAuthApplication, org: Organization, member_membership: Membership
) -> None:
    obtain_tokens(member_membership.user, app, org)
    changed = connection_set_tool_policy(
        principal=principal_for(member_membership),
        application=app,
        user=member_membership.user,
        tool_policy=READ_ONLY,
    )
    assert changed == 1
    assert (
        ToolPolicy.from_json(OAuthAccessToken.objects.get(application=app, organization=org).tool_policy)
        == READ_ONLY
    )
    assert ToolPolicy.from_json(OAuthRefreshToken.objects.get(application=app).tool_policy) == READ_ONLY
    assert ToolPolicy.from_json(OAuthGrant.objects.get(application=app).tool_policy) == READ_ONLY
    event = AuditEvent.objects.for_org(org).get(action=AuditAction.OAUTH_TOOL_POLICY_CHANGED)
    assert event.data["tools"]["create_document"] == {"from": "allowed", "to": "hidden"}
    assert event.data["client_id"] == app.client_id


def test_another_member_cannot_but_an_admin_can(
    app: OAuthApplication, org: Organization, member_membership: Membership, admin_membership: Membership
) -> None:
    obtain_tokens(member_membership.user, app, org)
    other = MembershipFactory(organization=org, role=Role.MEMBER)
    with pytest.raises(PermissionDenied):
        connection_set_tool_policy(
            principal=principal_for(other),
            application=app,
            user=member_membership.user,
            tool_policy=READ_ONLY,
        )
    connection_set_tool_policy(
        principal=principal_for(admin_membership),
        application=app,
        user=member_membership.user,
        tool_policy=READ_ONLY,
    )
    assert (
        ToolPolicy.from_json(OAuthAccessToken.objects.get(application=app, organization=org).tool_policy)
        == READ_ONLY
    )


def test_another_organizations_connection_is_missing(
    app: OAuthApplication,
    org: Organization,
    member_membership: Membership,
    other_owner_principal,  # type: ignore[no-untyped-def]
) -> None:
    obtain_tokens(member_membership.user, app, org)
    with pytest.raises(OAuthRefreshToken.DoesNotExist):
        connection_set_tool_policy(
            principal=other_owner_principal,
            application=app,
            user=member_membership.user,
            tool_policy=READ_ONLY,
        )
    assert OAuthAccessToken.objects.get(application=app, organization=org).tool_policy == {}


def tools_url(org: Organization, app: OAuthApplication, membership: Membership) -> str:
    base = reverse("oauth:connection_tools", args=[org.slug])
    return f"{base}?app={app.client_id}&user={membership.user.public_id}"


def test_the_connected_apps_pages_link_to_the_tools_page_which_saves(
    client: Client,
    app: OAuthApplication,
    org: Organization,
    member_membership: Membership,
    admin_membership: Membership,
) -> None:
    obtain_tokens(member_membership.user, app, org, form_data=CUSTOM)
    client.force_login(member_membership.user)
    own = client.get(reverse("oauth:connections"))
    url = tools_url(org, app, member_membership)
    assert url.replace("&", "&amp;") in own.text
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"]["tool_preset"].value() == "custom"
    saved = client.post(url, {"tool_preset": "read_only"})
    assert saved.status_code == 302
    assert (
        ToolPolicy.from_json(OAuthAccessToken.objects.get(application=app, organization=org).tool_policy)
        == READ_ONLY
    )

    client.force_login(admin_membership.user)
    assert url.replace("&", "&amp;") in client.get(reverse("oauth:org_connections", args=[org.slug])).text
    assert client.post(url, CUSTOM).status_code == 302
    policy = ToolPolicy.from_json(OAuthAccessToken.objects.get(application=app, organization=org).tool_policy)
    assert (
        policy.describe()
        == build_tool_policy(
            preset="custom", modes={"get_document": "allowed", "delete_document": "approval"}
        ).describe()
    )


def test_the_tools_page_refuses_others_and_other_organizations(
    client: Client,
    app: OAuthApplication,
    org: Organization,
    other_org: Organization,
    member_membership: Membership,
) -> None:
    obtain_tokens(member_membership.user, app, org)
    url = tools_url(org, app, member_membership)
    client.force_login(MembershipFactory(organization=org, role=Role.MEMBER).user)
    assert client.get(url).status_code == 403
    assert client.post(url, {"tool_preset": "read_only"}).status_code == 403
    outsider = MembershipFactory(organization=other_org, role=Role.OWNER)
    client.force_login(outsider.user)
    assert client.get(url).status_code == 404  # not a member of acme
    assert client.get(tools_url(other_org, app, member_membership)).status_code == 404
    assert (
        client.post(tools_url(other_org, app, member_membership), {"tool_preset": "read_only"}).status_code
        == 404
    )
    assert OAuthAccessToken.objects.get(application=app, organization=org).tool_policy == {}

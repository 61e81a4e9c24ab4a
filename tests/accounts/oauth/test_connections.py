"""Connected apps: the person's page, the organization page, revocation, and leaving an organization."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone

from accounts.audit.models import AuditAction
from accounts.core.permissions import Role
from accounts.models import (
    AuditEvent,
    Membership,
    OAuthApplication,
    OAuthGrant,
    OAuthRefreshToken,
    Organization,
    User,
)
from accounts.orgs.services import member_remove
from tests.factories import MembershipFactory, principal_for
from tests.support.oauth import access_token_works, obtain_tokens, refresh

pytestmark = pytest.mark.django_db


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# The person's page


def test_one_row_per_app_and_organization(
    app: OAuthApplication, owner: User, org: Organization, other_org: Organization
) -> None:
    MembershipFactory(user=owner, organization=other_org, role=Role.VIEWER)
    obtain_tokens(owner, app, org)
    obtain_tokens(owner, app, org)  # a second consent for the same pair: still one connection
    obtain_tokens(owner, app, other_org)

    response = _signed_in(owner).get("/account/connected-apps/")

    assert response.status_code == 200
    connections = response.context["connections"]
    assert [(c.application, c.organization) for c in connections] == [(app, org), (app, other_org)]
    globex = connections[1]
    assert globex.scopes == ["projects:read", "documents:read", "members:read"]
    assert globex.whole_organization
    assert globex.first_connected is not None
    html = response.content.decode()
    assert "Test MCP client" in html
    assert app.client_id in html
    assert "Globex" in html


def test_the_page_lists_only_the_persons_own_connections(
    app: OAuthApplication, owner: User, member_membership: Membership, org: Organization
) -> None:
    obtain_tokens(member_membership.user, app, org)

    response = _signed_in(owner).get("/account/connected-apps/")

    assert response.context["connections"] == []
    assert "No apps are connected" in response.content.decode()


def test_last_used_shows_after_a_request(app: OAuthApplication, owner: User, org: Organization) -> None:
    tokens = obtain_tokens(owner, app, org)
    assert access_token_works(tokens["access_token"])

    connection = _signed_in(owner).get("/account/connected-apps/").context["connections"][0]

    assert connection.last_used is not None
    assert connection.access_valid


def test_page_query_count_does_not_grow_with_connections(
    app: OAuthApplication, owner: User, org: Organization, django_assert_max_num_queries
) -> None:
    for _ in range(3):
        obtain_tokens(owner, app, org)
    other = OAuthApplication.objects.create(
        name="Other",
        client_type=OAuthApplication.CLIENT_PUBLIC,
        authorization_grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://127.0.0.1:53682/callback",
    )
    obtain_tokens(owner, other, org)
    client = _signed_in(owner)

    with django_assert_max_num_queries(10):
        response = client.get("/account/connected-apps/")
    assert len(response.context["connections"]) == 2


def test_revoke_makes_the_next_use_of_the_token_fail(
    app: OAuthApplication, owner: User, org: Organization, django_capture_on_commit_callbacks
) -> None:
    tokens = obtain_tokens(owner, app, org)
    client = _signed_in(owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/account/connected-apps/revoke/", {"client_id": app.client_id, "organization": org.slug}
        )

    assert response.status_code == 302
    assert not access_token_works(tokens["access_token"])
    assert refresh(Client(), app.client_id, tokens["refresh_token"]).status_code == 400
    assert not OAuthRefreshToken.objects.filter(revoked__isnull=True).exists()
    assert not OAuthGrant.objects.exists()
    event = AuditEvent.objects.for_org(org).get(action=AuditAction.OAUTH_APP_REVOKED)
    assert event.channel == "web"
    assert event.actor == owner
    assert event.data["client_id"] == app.client_id
    assert client.get("/account/connected-apps/").context["connections"] == []


def test_revoke_makes_the_token_invalid_at_once(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org)
    assert access_token_works(tokens["access_token"])

    _signed_in(owner).post(
        "/account/connected-apps/revoke/", {"client_id": app.client_id, "organization": org.slug}
    )

    assert not access_token_works(tokens["access_token"])


def test_revoke_in_an_organization_one_is_not_in_changes_nothing(
    app: OAuthApplication, owner: User, org: Organization, other_org: Organization, other_owner_principal
) -> None:
    stranger = other_owner_principal.user
    tokens = obtain_tokens(owner, app, org)

    response = _signed_in(stranger).post(
        "/account/connected-apps/revoke/", {"client_id": app.client_id, "organization": org.slug}
    )

    assert response.status_code == 302
    assert access_token_works(tokens["access_token"])


def test_revoke_all(app: OAuthApplication, owner: User, org: Organization, other_org: Organization) -> None:
    MembershipFactory(user=owner, organization=other_org, role=Role.MEMBER)
    first = obtain_tokens(owner, app, org)
    second = obtain_tokens(owner, app, other_org)

    response = _signed_in(owner).post("/account/connected-apps/revoke-all/")

    assert response.status_code == 302
    assert not access_token_works(first["access_token"])
    assert not access_token_works(second["access_token"])
    assert AuditEvent.objects.for_org(other_org).filter(action=AuditAction.OAUTH_APP_REVOKED).count() == 1


def test_revoke_needs_post(app: OAuthApplication, owner: User) -> None:
    assert _signed_in(owner).get("/account/connected-apps/revoke/").status_code == 405


def test_signed_out_is_sent_to_sign_in(db: None) -> None:
    response = Client().get("/account/connected-apps/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_reuse_detection_is_visible_on_the_page(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    tokens = obtain_tokens(owner, app, org)
    refresh(Client(), app.client_id, tokens["refresh_token"])
    OAuthRefreshToken.objects.filter(revoked__isnull=False).update(
        revoked=timezone.now() - timedelta(minutes=5)
    )
    refresh(Client(), app.client_id, tokens["refresh_token"])

    user_page = _signed_in(owner).get("/account/connected-apps/")
    org_page = _signed_in(owner).get(f"/orgs/{org.slug}/connected-apps/")

    for page in (user_page, org_page):
        assert len(page.context["reuse_events"]) == 1
        assert "refresh token reused" in page.content.decode()


# The organization page


def test_admins_see_every_members_connections(
    app: OAuthApplication, admin_membership: Membership, member_membership: Membership, org: Organization
) -> None:
    obtain_tokens(member_membership.user, app, org)

    response = _signed_in(admin_membership.user).get(f"/orgs/{org.slug}/connected-apps/")

    assert response.status_code == 200
    assert [c.user for c in response.context["connections"]] == [member_membership.user]
    assert member_membership.user.email in response.content.decode()


def test_everything_this_app_did_opens_the_audit_log_filtered_to_the_app(
    app: OAuthApplication, admin_membership: Membership, member_membership: Membership, org: Organization
) -> None:
    obtain_tokens(member_membership.user, app, org)
    client = _signed_in(admin_membership.user)

    page = client.get(f"/orgs/{org.slug}/connected-apps/").content.decode()
    link = f"/orgs/{org.slug}/audit/?credential={quote(app.client_id)}"
    assert f'href="{link}"' in page
    assert "Everything this app did" in page
    events = client.get(link).context["page"]
    assert {e.credential_id for e in events} == {app.client_id}
    assert AuditAction.OAUTH_CONSENT_GRANTED in {e.action for e in events}


def test_no_audit_link_on_the_persons_page(app: OAuthApplication, owner: User, org: Organization) -> None:
    obtain_tokens(owner, app, org)

    page = _signed_in(owner).get("/account/connected-apps/").content.decode()

    assert "Everything this app did" not in page


def test_members_cannot_see_the_organization_page(member_membership: Membership, org: Organization) -> None:
    assert _signed_in(member_membership.user).get(f"/orgs/{org.slug}/connected-apps/").status_code == 403


def test_non_members_get_404(other_owner_principal, org: Organization) -> None:
    assert _signed_in(other_owner_principal.user).get(f"/orgs/{org.slug}/connected-apps/").status_code == 404


def test_the_organization_page_shows_only_its_connections(
    app: OAuthApplication, owner: User, org: Organization, other_org: Organization
) -> None:
    MembershipFactory(user=owner, organization=other_org, role=Role.OWNER)
    obtain_tokens(owner, app, other_org)

    response = _signed_in(owner).get(f"/orgs/{org.slug}/connected-apps/")

    assert response.context["connections"] == []


def test_admin_revokes_a_members_connection(
    app: OAuthApplication,
    admin_membership: Membership,
    member_membership: Membership,
    org: Organization,
) -> None:
    tokens = obtain_tokens(member_membership.user, app, org)

    response = _signed_in(admin_membership.user).post(
        f"/orgs/{org.slug}/connected-apps/revoke/",
        {"client_id": app.client_id, "user": member_membership.user.public_id},
    )

    assert response.status_code == 302
    assert not access_token_works(tokens["access_token"])
    event = AuditEvent.objects.for_org(org).get(action=AuditAction.OAUTH_APP_REVOKED)
    assert event.actor == admin_membership.user
    assert event.data["user"] == member_membership.user.email


def test_admin_cannot_revoke_for_someone_outside_the_organization(
    app: OAuthApplication, admin_membership: Membership, org: Organization, other_owner_principal
) -> None:
    response = _signed_in(admin_membership.user).post(
        f"/orgs/{org.slug}/connected-apps/revoke/",
        {"client_id": app.client_id, "user": other_owner_principal.user.public_id},
    )

    assert response.status_code == 404


def test_org_page_query_count(
    app: OAuthApplication,
    owner: User,
    member_membership: Membership,
    org: Organization,
    django_assert_max_num_queries,
) -> None:
    obtain_tokens(owner, app, org)
    obtain_tokens(member_membership.user, app, org)
    client = _signed_in(owner)

    with django_assert_max_num_queries(12):
        response = client.get(f"/orgs/{org.slug}/connected-apps/")
    assert len(response.context["connections"]) == 2


# Leaving or being removed


def test_leaving_an_organization_revokes_the_connections_there(
    app: OAuthApplication,
    member_membership: Membership,
    org: Organization,
    other_org: Organization,
    owner: User,
    django_capture_on_commit_callbacks,
) -> None:
    person = member_membership.user
    MembershipFactory(user=person, organization=other_org, role=Role.MEMBER)
    here = obtain_tokens(person, app, org)
    elsewhere = obtain_tokens(person, app, other_org)

    with django_capture_on_commit_callbacks(execute=True):
        member_remove(principal=principal_for(member_membership), membership=member_membership)

    assert not access_token_works(here["access_token"])
    assert refresh(Client(), app.client_id, here["refresh_token"]).status_code == 400
    assert access_token_works(elsewhere["access_token"])
    actions = list(AuditEvent.objects.for_org(org).order_by("id").values_list("action", flat=True))
    assert actions[-2:] == [AuditAction.MEMBER_LEFT, AuditAction.OAUTH_APP_REVOKED]


def test_being_removed_revokes_too(
    app: OAuthApplication, owner_membership: Membership, member_membership: Membership, org: Organization
) -> None:
    tokens = obtain_tokens(member_membership.user, app, org)

    member_remove(principal=principal_for(owner_membership), membership=member_membership)

    assert not access_token_works(tokens["access_token"])
    event = AuditEvent.objects.for_org(org).get(action=AuditAction.OAUTH_APP_REVOKED)
    assert event.data["reason"] == "member_removed"
    assert not OAuthRefreshToken.objects.filter(user=member_membership.user, revoked__isnull=True).exists()


def test_navigation_links(owner: User, member_membership: Membership, org: Organization) -> None:
    owner_page = _signed_in(owner).get(f"/orgs/{org.slug}/projects/").content.decode()
    member_page = _signed_in(member_membership.user).get(f"/orgs/{org.slug}/projects/").content.decode()

    assert f'href="/orgs/{org.slug}/connected-apps/"' in owner_page
    assert f'href="/orgs/{org.slug}/connected-apps/"' not in member_page
    assert 'href="/account/connected-apps/"' in member_page  # the account menu, for everyone

"""Organization, member and invitation pages: permissions per role, tenancy, POST-only changes, errors."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.audit.models import AuditAction
from accounts.core.permissions import Role
from accounts.models import AuditEvent, Invitation, Membership, Organization, User
from accounts.orgs.services import invitation_revoke, member_invite
from accounts.orgs.views.organizations import LAST_ORG_SESSION_KEY
from tests.factories import MembershipFactory, UserFactory
from tests.support.queries import NARROW, REQUEST, with_rls

pytestmark = pytest.mark.django_db


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def members_url(org: Organization) -> str:
    return reverse("accounts:members", args=[org.slug])


def role_url(membership: Membership) -> str:
    return reverse("accounts:member_role", args=[membership.organization.slug, membership.public_id])


def remove_url(membership: Membership) -> str:
    return reverse("accounts:member_remove", args=[membership.organization.slug, membership.public_id])


def role_of(membership: Membership) -> str:
    return Membership.objects.for_org(membership.organization).get(pk=membership.pk).role


def exists(membership: Membership) -> bool:
    return Membership.objects.for_org(membership.organization).filter(pk=membership.pk).exists()


def actions(org: Organization) -> list[str]:
    return list(AuditEvent.objects.for_org(org).order_by("id").values_list("action", flat=True))


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def invite(principal, email: str = "new@example.com", role: Role = Role.MEMBER) -> tuple[Invitation, str]:
    invited = member_invite(principal=principal, email=email, role=role)
    invitation, link = invited.invitation, invited.link
    return invitation, link.split("/invitations/", 1)[1].rstrip("/")


# Creating and opening organizations


def test_first_time_user_is_sent_to_a_welcoming_create_page(client: Client) -> None:
    login(client, UserFactory())
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:org_create")
    assert "Create your organization" in response.content.decode()
    assert "An organization is where your team works" in response.content.decode()


def test_create_page_needs_sign_in(client: Client) -> None:
    response = client.get(reverse("accounts:org_create"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_create_organization_makes_owner_and_opens_it(client: Client) -> None:
    user = UserFactory()
    login(client, user)
    response = client.post(reverse("accounts:org_create"), {"name": "Initech", "slug": ""})
    org = Organization.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:org_home", args=["initech"])
    assert Membership.objects.for_org(org).get().user == user
    assert Membership.objects.for_org(org).get().role == Role.OWNER
    assert actions(org) == [AuditAction.ORG_CREATED]


@pytest.mark.parametrize(
    ("slug", "error"),
    [
        ("new", "This address is reserved"),
        ("acme", "Another organization already uses this address"),
        ("not a slug!", "Enter a valid"),
    ],
)
def test_create_organization_with_bad_slug_shows_the_error(
    client: Client, org: Organization, slug: str, error: str
) -> None:
    login(client, UserFactory())
    response = client.post(reverse("accounts:org_create"), {"name": "Another", "slug": slug})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert list(Organization.objects.values_list("slug", flat=True)) == ["acme"]


def test_create_organization_requires_a_name(client: Client) -> None:
    login(client, UserFactory())
    response = client.post(reverse("accounts:org_create"), {"name": "", "slug": "fine"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not Organization.objects.exists()


def test_org_home_remembers_the_org_and_shows_projects(
    client: Client, org: Organization, owner: User
) -> None:
    MembershipFactory(user=owner, role=Role.VIEWER, organization__slug="zeta", organization__name="Zeta")
    login(client, owner)
    response = client.get(reverse("accounts:org_home", args=["zeta"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:projects", args=["zeta"])
    assert client.session[LAST_ORG_SESSION_KEY] == "zeta"
    assert client.get("/")["Location"] == reverse("accounts:org_home", args=["zeta"])


def test_switcher_lists_my_organizations_only(
    client: Client, org: Organization, owner: User, other_org
) -> None:
    MembershipFactory(user=owner, organization__slug="zeta", organization__name="Zeta")
    login(client, owner)
    html = client.get(members_url(org)).content.decode()
    assert f'href="{reverse("accounts:org_home", args=["zeta"])}"' in html
    assert f'href="{reverse("accounts:org_home", args=["acme"])}"' in html
    assert reverse("accounts:org_home", args=["globex"]) not in html


@pytest.mark.parametrize("name", ["org_home", "org_settings", "members"])
def test_non_members_get_404_for_org_pages(
    client: Client, other_org: Organization, owner: User, name: str
) -> None:
    login(client, owner)
    response = client.get(reverse(f"accounts:{name}", args=[other_org.slug]))
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert LAST_ORG_SESSION_KEY not in client.session


# Settings


def test_settings_renames_for_admins(client: Client, org: Organization, admin_membership) -> None:
    login(client, admin_membership.user)
    url = reverse("accounts:org_settings", args=[org.slug])
    assert 'name="name"' in client.get(url).content.decode()
    response = client.post(url, {"action": "rename", "name": "Acme Corp"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.name == "Acme Corp"
    assert actions(org) == [AuditAction.ORG_UPDATED]


def test_settings_rename_with_blank_name_changes_nothing(
    client: Client, org: Organization, owner: User
) -> None:
    login(client, owner)
    response = client.post(
        reverse("accounts:org_settings", args=[org.slug]), {"action": "rename", "name": " "}
    )
    assert response.status_code == 200
    assert response.context["rename_form"].errors["name"]
    org.refresh_from_db()
    assert org.name == "Acme"
    assert actions(org) == []


@pytest.mark.parametrize("fixture", ["member_membership", "viewer_membership"])
def test_settings_is_read_only_below_admin(client: Client, org: Organization, request, fixture: str) -> None:
    login(client, request.getfixturevalue(fixture).user)
    url = reverse("accounts:org_settings", args=[org.slug])
    page = client.get(url)
    assert page.status_code == 200
    assert 'value="rename"' not in page.content.decode()
    assert 'value="leave"' in page.content.decode()
    response = client.post(url, {"action": "rename", "name": "Hacked"})
    assert response.status_code == 403
    assert "You cannot do that here" in response.content.decode()
    assert "Change organization settings" in response.content.decode()
    org.refresh_from_db()
    assert org.name == "Acme"


def test_leave_removes_me_and_forgets_the_org(
    client: Client, org: Organization, owner, member_membership
) -> None:
    login(client, member_membership.user)
    client.get(reverse("accounts:org_home", args=[org.slug]))
    response = client.post(reverse("accounts:org_settings", args=[org.slug]), {"action": "leave"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home")
    assert not exists(member_membership)
    assert LAST_ORG_SESSION_KEY not in client.session
    assert actions(org) == [AuditAction.MEMBER_LEFT]
    assert client.get(members_url(org)).status_code == 404


def test_last_owner_cannot_leave_and_is_told_why(client: Client, org: Organization, owner_membership) -> None:
    login(client, owner_membership.user)
    response = client.post(reverse("accounts:org_settings", args=[org.slug]), {"action": "leave"})
    assert response.status_code == 200
    assert "An organization needs at least one owner" in response.content.decode()
    assert exists(owner_membership)
    assert actions(org) == []


def test_settings_unknown_action_is_a_bad_request(client: Client, org: Organization, owner: User) -> None:
    login(client, owner)
    assert (
        client.post(reverse("accounts:org_settings", args=[org.slug]), {"action": "drop"}).status_code == 400
    )


# Members page


def test_members_page_for_an_owner_shows_management(
    client: Client, org: Organization, owner_principal, admin_membership, viewer_membership
) -> None:
    invitation, _ = invite(owner_principal, email="pending@example.com")
    login(client, owner_principal.user)
    response = client.get(members_url(org))
    html = response.content.decode()
    assert response.status_code == 200
    for email in ("owner@acme.test", "admin@acme.test", "viewer@acme.test", "pending@example.com"):
        assert email in html
    assert reverse("accounts:member_invite", args=[org.slug]) in html
    assert role_url(admin_membership) in html
    assert remove_url(viewer_membership) in html
    assert reverse("accounts:invitation_revoke", args=[org.slug, invitation.public_id]) in html
    assert [value for value, _ in response.context["invite_form"].fields["role"].choices] == [
        "owner",
        "admin",
        "member",
        "viewer",
    ]
    assert "What each role can do" in html


def test_members_page_for_an_admin_offers_no_owner_powers(
    client: Client, org: Organization, owner_membership, admin_membership, member_membership
) -> None:
    login(client, admin_membership.user)
    response = client.get(members_url(org))
    html = response.content.decode()
    rows = {row.membership.pk: row for row in response.context["rows"]}
    assert rows[owner_membership.pk].assignable_roles == []
    assert not rows[owner_membership.pk].can_remove
    assert rows[member_membership.pk].assignable_roles == [Role.ADMIN, Role.MEMBER, Role.VIEWER]
    assert role_url(owner_membership) not in html
    assert remove_url(owner_membership) not in html
    assert [value for value, _ in response.context["invite_form"].fields["role"].choices] == [
        "admin",
        "member",
        "viewer",
    ]


@pytest.mark.parametrize("fixture", ["member_membership", "viewer_membership"])
def test_members_page_is_read_only_below_admin(
    client: Client, org: Organization, owner_principal, request, fixture: str
) -> None:
    invite(owner_principal, email="pending@example.com")
    me = request.getfixturevalue(fixture)
    login(client, me.user)
    response = client.get(members_url(org))
    html = response.content.decode()
    assert response.status_code == 200
    assert "owner@acme.test" in html
    assert 'method="post"' not in html.split('<main id="content">')[1].split("</main>")[0]
    assert "pending@example.com" not in html
    assert "invitations" not in response.context


def test_members_page_needs_sign_in(client: Client, org: Organization) -> None:
    response = client.get(members_url(org))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_members_page_query_count(
    client: Client, org: Organization, owner_principal, django_assert_num_queries
) -> None:
    for n in range(5):
        MembershipFactory(organization=org, role=Role.MEMBER)
        invite(owner_principal, email=f"p{n}@example.com")
    login(client, owner_principal.user)
    # session, user, membership, members, invitations, switcher organizations
    with django_assert_num_queries(with_rls(6, statements=REQUEST + NARROW)):
        assert client.get(members_url(org)).status_code == 200


# Inviting


def test_invite_sends_email_without_leaking_the_link(
    client: Client, org: Organization, owner: User, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    login(client, owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:member_invite", args=[org.slug]), {"email": "New@Example.com", "role": "admin"}
        )
    assert response.status_code == 302
    assert response["Location"] == members_url(org)
    invitation = Invitation.objects.for_org(org).get()
    assert (invitation.email, invitation.role, invitation.invited_by) == ("new@example.com", "admin", owner)
    [mail] = mailoutbox
    link = next(line for line in mail.body.splitlines() if "/invitations/" in line)
    assert message_texts(response) == ["Invitation sent to new@example.com as Admin."]
    page = client.get(members_url(org)).content.decode()
    assert link.split("/invitations/")[1] not in page
    assert AuditAction.MEMBER_INVITED in actions(org)


def test_admin_cannot_invite_an_owner(client: Client, org: Organization, admin_membership) -> None:
    login(client, admin_membership.user)
    response = client.post(
        reverse("accounts:member_invite", args=[org.slug]), {"email": "x@example.com", "role": "owner"}
    )
    assert response.status_code == 200
    assert response.context["invite_form"].errors["role"]
    assert not Invitation.objects.for_org(org).exists()


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"email": "member@acme.test", "role": "member"}, "email", "is already a member"),
        ({"email": "not-an-email", "role": "member"}, "email", "Enter a valid email address"),
        ({"email": "x@example.com", "role": "root"}, "role", "Select a valid choice"),
    ],
)
def test_invite_errors_rerender_the_members_page(
    client: Client, org: Organization, owner: User, member_membership, data, field: str, text: str
) -> None:
    login(client, owner)
    response = client.post(reverse("accounts:member_invite", args=[org.slug]), data)
    assert response.status_code == 200
    assert response.context["invite_form"].errors[field]
    assert text in response.content.decode()
    assert "member@acme.test" in response.content.decode()  # still the whole members page
    assert not Invitation.objects.for_org(org).exists()


@pytest.mark.parametrize("fixture", ["member_membership", "viewer_membership"])
def test_invite_is_forbidden_below_admin(client: Client, org: Organization, request, fixture: str) -> None:
    login(client, request.getfixturevalue(fixture).user)
    response = client.post(
        reverse("accounts:member_invite", args=[org.slug]), {"email": "x@example.com", "role": "viewer"}
    )
    assert response.status_code == 403
    assert not Invitation.objects.for_org(org).exists()


# Role changes, removals, revocations


def test_owner_changes_a_role(client: Client, org: Organization, owner: User, member_membership) -> None:
    login(client, owner)
    response = client.post(role_url(member_membership), {"role": "admin"})
    assert response.status_code == 302
    assert response["Location"] == members_url(org)
    assert role_of(member_membership) == Role.ADMIN
    assert actions(org) == [AuditAction.MEMBER_ROLE_CHANGED]


def test_admin_changing_an_owner_gets_403(
    client: Client, org: Organization, owner_membership, admin_membership
) -> None:
    login(client, admin_membership.user)
    response = client.post(role_url(owner_membership), {"role": "viewer"})
    assert response.status_code == 403
    assert "Only owners can" in response.content.decode()
    assert role_of(owner_membership) == Role.OWNER
    assert actions(org) == []


def test_last_owner_demotion_is_refused_with_a_message(
    client: Client, org: Organization, owner_membership
) -> None:
    login(client, owner_membership.user)
    response = client.post(role_url(owner_membership), {"role": "member"}, follow=True)
    assert response.redirect_chain == [(members_url(org), 302)]
    assert "An organization needs at least one owner" in response.content.decode()
    assert role_of(owner_membership) == Role.OWNER
    assert actions(org) == []


def test_invalid_role_changes_nothing(
    client: Client, org: Organization, owner: User, member_membership
) -> None:
    login(client, owner)
    response = client.post(role_url(member_membership), {"role": "superuser"}, follow=True)
    assert "Choose one of the roles offered." in response.content.decode()
    assert role_of(member_membership) == Role.MEMBER


def test_owner_removes_a_member(client: Client, org: Organization, owner: User, member_membership) -> None:
    login(client, owner)
    response = client.post(remove_url(member_membership), follow=True)
    assert response.redirect_chain == [(members_url(org), 302)]
    assert not exists(member_membership)
    assert actions(org) == [AuditAction.MEMBER_REMOVED]
    name = member_membership.user.display_name
    assert f"{name} was removed from Acme." in response.content.decode()


def test_admin_removing_an_owner_gets_403(
    client: Client, org: Organization, owner_membership, admin_membership
) -> None:
    login(client, admin_membership.user)
    assert client.post(remove_url(owner_membership)).status_code == 403
    assert exists(owner_membership)


def test_removing_myself_as_last_owner_is_refused(
    client: Client, org: Organization, owner_membership
) -> None:
    login(client, owner_membership.user)
    response = client.post(remove_url(owner_membership), follow=True)
    assert "An organization needs at least one owner" in response.content.decode()
    assert exists(owner_membership)


def test_owner_revokes_an_invitation(client: Client, org: Organization, owner_principal) -> None:
    invitation, _ = invite(owner_principal)
    login(client, owner_principal.user)
    response = client.post(reverse("accounts:invitation_revoke", args=[org.slug, invitation.public_id]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert actions(org)[-1] == AuditAction.INVITATION_REVOKED


@pytest.mark.parametrize("kind", ["role", "remove", "revoke"])
def test_other_orgs_ids_are_404(
    client: Client, org: Organization, owner: User, other_owner_principal, kind: str
) -> None:
    other_org = other_owner_principal.organization
    victim = MembershipFactory(organization=other_org, role=Role.MEMBER)
    invitation, _ = invite(other_owner_principal)
    url = {
        "role": reverse("accounts:member_role", args=[org.slug, victim.public_id]),
        "remove": reverse("accounts:member_remove", args=[org.slug, victim.public_id]),
        "revoke": reverse("accounts:invitation_revoke", args=[org.slug, invitation.public_id]),
    }[kind]
    login(client, owner)
    assert client.post(url, {"role": "viewer"}).status_code == 404
    assert (role_of(victim), exists(victim)) == (Role.MEMBER, True)
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert actions(other_org) == [AuditAction.MEMBER_INVITED]


@pytest.mark.parametrize("fixture", ["member_membership", "viewer_membership"])
def test_member_actions_are_forbidden_below_admin(
    client: Client, org: Organization, owner_principal, owner_membership, request, fixture: str
) -> None:
    invitation, _ = invite(owner_principal)
    login(client, request.getfixturevalue(fixture).user)
    assert client.post(role_url(owner_membership), {"role": "viewer"}).status_code == 403
    assert client.post(remove_url(owner_membership)).status_code == 403
    revoke = reverse("accounts:invitation_revoke", args=[org.slug, invitation.public_id])
    assert client.post(revoke).status_code == 403
    assert (role_of(owner_membership), exists(owner_membership)) == (Role.OWNER, True)
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_mutations_are_post_only(
    client: Client, org: Organization, owner_principal, member_membership
) -> None:
    invitation, _ = invite(owner_principal)
    login(client, owner_principal.user)
    for url in (
        reverse("accounts:member_invite", args=[org.slug]),
        role_url(member_membership),
        remove_url(member_membership),
        reverse("accounts:invitation_revoke", args=[org.slug, invitation.public_id]),
    ):
        assert client.get(url).status_code == 405, url
    assert (role_of(member_membership), exists(member_membership)) == (Role.MEMBER, True)


def test_mutations_need_a_csrf_token(org: Organization, owner_principal, member_membership) -> None:
    invitation, _ = invite(owner_principal)
    client = login(Client(enforce_csrf_checks=True), owner_principal.user)
    for url, data in (
        (reverse("accounts:member_invite", args=[org.slug]), {"email": "x@example.com", "role": "member"}),
        (role_url(member_membership), {"role": "admin"}),
        (remove_url(member_membership), {}),
        (reverse("accounts:invitation_revoke", args=[org.slug, invitation.public_id]), {}),
        (reverse("accounts:org_settings", args=[org.slug]), {"action": "rename", "name": "X"}),
    ):
        assert client.post(url, data).status_code == 403, url
    assert (role_of(member_membership), exists(member_membership)) == (Role.MEMBER, True)
    assert Invitation.objects.for_org(org).count() == 1


# Accepting an invitation


def accept_url(token: str) -> str:
    return reverse("accounts:invitation_accept", args=[token])


ACCEPT_PAGE = "/invitations/accept/"


def confirmation_link(body: str) -> str:
    """The path of the email confirmation link in a sent email's text."""
    [link] = re.findall(r"https?://\S+/account/confirm-email/\S+/", body)
    return urlsplit(link).path


def open_link(client: Client, token: str):
    """Open the emailed link: the token goes into the session and the browser to a token-free page."""
    response = client.get(accept_url(token))
    assert response.status_code == 302
    assert response["Location"] == ACCEPT_PAGE == reverse("accounts:invitation")
    assert "no-cache" in response["Cache-Control"]
    return client.get(ACCEPT_PAGE)


def test_the_link_moves_its_token_out_of_the_address(
    client: Client, org: Organization, owner_principal
) -> None:
    _, token = invite(owner_principal, email="new@example.com")
    response = open_link(client, token)
    assert response.status_code == 200
    assert token not in response.content.decode()
    assert client.session["_invitation_token"] == token


def test_anonymous_sees_who_invited_them_and_ways_to_sign_in(
    client: Client, org: Organization, owner_principal
) -> None:
    _, token = invite(owner_principal, email="new@example.com")
    response = open_link(client, token)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Join Acme" in html
    assert owner_principal.user.display_name in html
    assert "/login/?email=new%40example.com&amp;next=%2Finvitations%2Faccept%2F" in html
    assert "/signup/?email=new%40example.com&amp;next=%2Finvitations%2Faccept%2F" in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_signup_from_an_invitation_prefills_the_email_and_comes_back(
    client: Client, org: Organization, owner_principal, django_capture_on_commit_callbacks
) -> None:
    _, token = invite(owner_principal, email="new@example.com")
    open_link(client, token)
    signup = client.get(reverse("accounts:signup"), {"email": "new@example.com", "next": ACCEPT_PAGE})
    assert signup.context["form"].initial["email"] == "new@example.com"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:signup") + f"?next={ACCEPT_PAGE}",
            {
                "email": "new@example.com",
                "name": "New",
                "password1": "a-long-pass-phrase",
                "password2": "a-long-pass-phrase",
            },
        )
    assert response["Location"] == reverse("accounts:signup_check_email")
    # The confirmation link leads to sign-in, then back to the invitation, kept in the session.
    confirm = client.get(confirmation_link(mail.outbox[-1].body))
    confirmed = client.post(confirm["Location"])
    assert confirmed["Location"] == "/login/?email=new%40example.com&next=%2Finvitations%2Faccept%2F"
    signed_in = client.post(
        confirmed["Location"], {"username": "new@example.com", "password": "a-long-pass-phrase"}
    )
    assert signed_in["Location"] == ACCEPT_PAGE
    assert "Accept and join Acme" in client.get(ACCEPT_PAGE).content.decode()


def test_anonymous_post_is_sent_to_sign_in(client: Client, org: Organization, owner_principal) -> None:
    _, token = invite(owner_principal)
    open_link(client, token)
    response = client.post(ACCEPT_PAGE)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login") + "?next=/invitations/accept/"
    assert Membership.objects.for_org(org).count() == 1


def test_signed_in_user_accepts_and_lands_in_the_org(
    client: Client, org: Organization, owner_principal
) -> None:
    _, token = invite(owner_principal, email="new@example.com", role=Role.VIEWER)
    user = UserFactory(email="new@example.com")
    login(client, user)
    page = open_link(client, token).content.decode()
    assert "Accept and join Acme" in page
    assert "but you are signed in as" not in page
    response = client.post(ACCEPT_PAGE)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:org_home", args=[org.slug])
    assert Membership.objects.for_org(org).get(user=user).role == Role.VIEWER
    assert client.session[LAST_ORG_SESSION_KEY] == org.slug
    assert "_invitation_token" not in client.session
    assert AuditAction.MEMBER_JOINED in actions(org)
    again = client.get(accept_url(token))
    assert again.status_code == 410
    assert "already used" in again.content.decode()


def test_the_accept_page_without_a_link_opened_is_a_404(client: Client, org: Organization) -> None:
    login(client, UserFactory())
    for response in (client.get(ACCEPT_PAGE), client.post(ACCEPT_PAGE)):
        assert response.status_code == 404
        assert "This invitation link does not work" in response.content.decode()
    assert Membership.objects.for_org(org).count() == 0


def test_another_email_is_told_and_may_not_accept(client: Client, org: Organization, owner_principal) -> None:
    _, token = invite(owner_principal, email="invited@example.com")
    user = UserFactory(email="other@example.com")
    login(client, user)
    html = open_link(client, token).content.decode()
    assert "This invitation was sent to <strong>invited@example.com</strong>" in html
    assert "you are signed in as <strong>other@example.com</strong>" in html
    assert "Accept and join" not in html
    assert client.post(ACCEPT_PAGE).status_code == 403
    assert not Membership.objects.for_org(org).filter(user=user).exists()


def test_an_unconfirmed_address_is_asked_to_confirm_first(
    client: Client, org: Organization, owner_principal
) -> None:
    _, token = invite(owner_principal, email="invited@example.com")
    user = UserFactory(email="invited@example.com", email_verified_at=None)
    login(client, user)
    html = open_link(client, token).content.decode()
    assert "Confirm your email address first" in html
    assert client.post(ACCEPT_PAGE).status_code == 403
    assert not Membership.objects.for_org(org).filter(user=user).exists()


def test_existing_member_is_pointed_to_the_org(
    client: Client, org: Organization, owner_principal, member_membership
) -> None:
    _, token = invite(owner_principal, email="someone@example.com")
    login(client, member_membership.user)
    html = open_link(client, token).content.decode()
    assert "You are already a member of Acme" in html
    assert "Accept and join" not in html


@pytest.mark.parametrize(
    ("state", "status", "text"),
    [
        ("unknown", 404, "This invitation link does not work"),
        ("revoked", 410, "This invitation was withdrawn"),
        ("expired", 410, "This invitation has expired"),
    ],
)
def test_invalid_invitations_get_a_friendly_page(
    client: Client, org: Organization, owner_principal, state: str, status: int, text: str
) -> None:
    invitation, token = invite(owner_principal)
    login(client, UserFactory())
    if state != "unknown":
        open_link(client, token)  # opened while still valid; withdrawn or expired before accepting
    if state == "unknown":
        token = "x" + token
    elif state == "revoked":
        invitation_revoke(principal=owner_principal, invitation=invitation)
    else:
        Invitation.objects.for_org(org).filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(hours=1)
        )
    responses = [client.get(accept_url(token))]
    if state != "unknown":
        responses.append(client.post(ACCEPT_PAGE))
    for response in responses:
        assert response.status_code == status
        assert text in response.content.decode()
    assert Membership.objects.for_org(org).count() == 1


def test_403_page_names_a_service_reason(
    client: Client, org: Organization, owner_membership, admin_membership
) -> None:
    login(client, admin_membership.user)  # admins manage members, but not owners
    response = client.post(remove_url(owner_membership))
    assert response.status_code == 403
    assert "Only owners can remove an owner." in response.content.decode()

"""Small things people notice: messages, signing out, the sign-in focus, the last owner's role, key
badges, keyboard-scrollable snippets, and a console that prints a refused request as one line."""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.core.permissions import Role
from accounts.orgs.models import Membership, Organization
from apikeys.services import apikey_create
from tests.factories import PASSWORD, MembershipFactory, UserFactory, principal_for

pytestmark = pytest.mark.django_db


def test_messages_are_a_valid_list_inside_a_status_region(owner_client: Client, org: Organization) -> None:
    response = owner_client.post(
        reverse("accounts:member_invite", args=[org.slug]), {"email": "x@example.com", "role": "member"}
    )
    html = owner_client.get(response["Location"]).content.decode()
    assert re.search(r'<div role="status"><ul class="messages"><li class="success">', html)
    assert '<ul class="messages" role=' not in html  # a role on the <ul> orphans its <li>s


def test_signing_out_says_so(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.post(reverse("accounts:logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:login")
    assert '<li class="info">You are signed out.</li>' in response.content.decode()


def test_after_a_failed_sign_in_the_password_has_the_focus(client: Client) -> None:
    user = UserFactory()
    first = client.get(reverse("accounts:login")).content.decode()
    assert re.search(r'<input type="email" name="username"[^>]*autofocus', first)
    failed = client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD + "x"})
    html = failed.content.decode()
    assert re.search(r'<input type="password" name="password"[^>]*autofocus', html)
    assert not re.search(r'<input type="email" name="username"[^>]*autofocus', html)


def test_the_last_owner_gets_no_role_dropdown_but_one_of_two_owners_does(
    owner_client: Client, org: Organization, owner_membership: Membership
) -> None:
    members = reverse("accounts:members", args=[org.slug])
    select = f'id="role-{owner_membership.public_id}"'
    assert select not in owner_client.get(members).content.decode()
    MembershipFactory(organization=org, role=Role.OWNER)
    assert select in owner_client.get(members).content.decode()


def test_a_key_with_custom_scopes_has_an_access_badge(
    owner_client: Client, org: Organization, owner_membership: Membership
) -> None:
    apikey_create(principal=principal_for(owner_membership), name="ci", scopes=["projects:read"])
    html = owner_client.get(reverse("apikeys:list", args=[org.slug])).content.decode()
    assert '<span class="badge">Custom scopes</span>' in html


def test_the_new_keys_snippets_can_be_scrolled_with_the_keyboard(
    owner_client: Client, org: Organization
) -> None:
    page = reverse("apikeys:create", args=[org.slug])
    nonce = owner_client.get(page).context["form"]["nonce"].value()  # the form's one-time nonce
    response = owner_client.post(
        page, {"name": "ci", "access": "read", "expiry": "90", "project": "", "nonce": nonce}
    )
    html = response.content.decode()
    for snippet in ("bearer-line", "curl-example"):
        pattern = rf'<pre class="snippet" id="{snippet}" tabindex="0" role="region" aria-label="'
        assert re.search(pattern, html)


def test_a_refused_request_is_logged_as_one_line_without_a_traceback(
    client: Client, org: Organization, caplog: pytest.LogCaptureFixture
) -> None:
    viewer = MembershipFactory(organization=org, role=Role.VIEWER).user
    client.force_login(viewer)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post(reverse("accounts:member_invite", args=[org.slug]), {"email": "a@b.c"})
    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage().startswith("Forbidden")
    assert record.exc_info is None

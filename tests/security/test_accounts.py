"""Items 1, 4 and 12 (accounts): mail that carries secrets, invitations bound to a confirmed address,
what a password change revokes, and sign-up and reset forms that reveal nothing and cannot be spammed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from accounts.core.permissions import Role
from accounts.models import AuditEvent, Membership, OAuthApplication, Organization, User
from apikeys.models import ApiKey
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from tests.support.apikeys import make_key
from tests.support.oauth import access_token_works, obtain_tokens
from tests.support.servers import ROOT

pytestmark = pytest.mark.django_db


def _django_starts(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DJANGO_SETTINGS"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **environment)
    code = "import django; django.setup(); print('started')"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "x" * 50, "PUBLIC_URL": "https://gatehouse.example.com"}


def test_production_refuses_to_start_without_a_mail_server() -> None:
    refused = _django_starts(**PRODUCTION)
    assert refused.returncode != 0
    assert "EMAIL_URL" in refused.stderr
    assert _django_starts(**PRODUCTION, EMAIL_URL="smtp+tls://u:p@smtp.example.com:587").returncode == 0
    # Printing mail is still possible, when said explicitly.
    assert _django_starts(**PRODUCTION, EMAIL_URL="consolemail://").returncode == 0


# Invitations


def _invite(org: Organization, email: str) -> str:
    from accounts.orgs.services import member_invite
    from tests.factories import principal_for

    owner = MembershipFactory(organization=org, role=Role.OWNER)
    return member_invite(principal=principal_for(owner), email=email, role=Role.ADMIN).link


def test_someone_who_reads_an_invitation_link_cannot_join_with_it(client: Client, org: Organization) -> None:
    link = _invite(org, "cfo@example.com")
    reader = UserFactory(email="reader-of-logs@example.com")
    client.force_login(reader)
    client.get(urlsplit(link).path)
    response = client.post(reverse("accounts:invitation"))
    assert response.status_code == 403
    assert not Membership.objects.for_org(org).filter(user=reader).exists()


def test_an_account_made_for_the_invited_address_must_confirm_it_first(
    client: Client, org: Organization, django_capture_on_commit_callbacks
) -> None:
    link = _invite(org, "cfo@example.com")
    # Someone signs up with the invited address without owning the inbox: the account is unconfirmed.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("accounts:signup"),
            {"email": "cfo@example.com", "password1": PASSWORD, "password2": PASSWORD},
        )
    squatter = User.objects.get(email="cfo@example.com")
    assert not squatter.email_verified
    client.force_login(squatter)
    client.get(urlsplit(link).path)
    assert client.post(reverse("accounts:invitation")).status_code == 403
    assert not Membership.objects.for_org(org).filter(user=squatter).exists()


# Sign-up and reset forms


def test_signup_does_not_say_whether_an_address_has_an_account(client: Client) -> None:
    UserFactory(email="ceo@example.com")
    answers = []
    for email in ("ceo@example.com", "nobody@example.com"):
        response = Client().post(
            reverse("accounts:signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
        )
        page = Client().get(response["Location"])
        answers.append((response.status_code, response["Location"], page.status_code))
    assert answers[0] == answers[1]


@override_settings(PASSWORD_RESET_RATE="2/h")
def test_password_reset_requests_are_limited_per_address(client: Client) -> None:
    UserFactory(email="ann@example.com")
    statuses = [
        Client(REMOTE_ADDR=f"10.0.0.{n}").post(
            reverse("accounts:password_reset"), {"email": "ann@example.com"}
        )
        for n in range(4)
    ]
    assert [r.status_code for r in statuses] == [302, 302, 429, 429]
    assert len(mail.outbox) == 2


@override_settings(PASSWORD_RESET_IP_RATE="3/h")
def test_password_reset_requests_are_limited_per_network(client: Client) -> None:
    statuses = [
        client.post(reverse("accounts:password_reset"), {"email": f"x{n}@example.com"}).status_code
        for n in range(5)
    ]
    assert statuses == [302, 302, 302, 429, 429]


@override_settings(SIGNUP_RATE="2/h")
def test_signups_are_limited_per_network(client: Client) -> None:
    statuses = [
        client.post(
            reverse("accounts:signup"),
            {"email": f"s{n}@example.com", "password1": PASSWORD, "password2": PASSWORD},
        ).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]
    assert User.objects.count() == 2


# What a password change or reset revokes


@pytest.fixture
def person(org: Organization, app: OAuthApplication) -> dict[str, object]:
    """A member of two organizations with an OAuth connection and an API key in each."""
    user = UserFactory(email="ann@example.com")
    second = OrganizationFactory()
    memberships = [
        MembershipFactory(organization=org, user=user, role=Role.ADMIN),
        MembershipFactory(organization=second, user=user, role=Role.MEMBER),
    ]
    tokens = [obtain_tokens(user, app, m.organization)["access_token"] for m in memberships]
    keys = [make_key(m)[0] for m in memberships]
    return {"user": user, "tokens": tokens, "keys": keys, "orgs": [org, second]}


def _reset_link(client: Client, email: str) -> str:
    client.post(reverse("accounts:password_reset"), {"email": email})
    [link] = re.findall(r"https?://\S+/password-reset/\S+/", mail.outbox[-1].body)
    return client.get(urlsplit(link).path)["Location"]


@pytest.mark.parametrize("revoke_keys", [False, True])
def test_a_password_reset_signs_out_everywhere_and_revokes_oauth_apps(
    person: dict, revoke_keys: bool, django_capture_on_commit_callbacks
) -> None:
    elsewhere = Client()
    elsewhere.force_login(person["user"])
    browser = Client()
    form = _reset_link(browser, "ann@example.com")
    new = "a-brand-new-long-pass-phrase"
    data = {"new_password1": new, "new_password2": new, **({"revoke_api_keys": "on"} if revoke_keys else {})}
    with django_capture_on_commit_callbacks(execute=True):
        assert browser.post(form, data).status_code == 302

    assert elsewhere.get(reverse("accounts:home"))["Location"].startswith(reverse("accounts:login"))
    assert not any(access_token_works(token) for token in person["tokens"])
    valid_keys = ApiKey.all_orgs.filter(pk__in=[k.pk for k in person["keys"]], revoked_at__isnull=True)
    assert valid_keys.count() == (0 if revoke_keys else 2)
    for org in person["orgs"]:
        revoked = AuditEvent.objects.for_org(org).filter(
            action="oauth.app_revoked", data__reason="password_reset"
        )
        assert revoked.count() == 1
    confirmation = mail.outbox[-1]
    assert confirmation.to == ["ann@example.com"]
    assert "was reset" in confirmation.body
    for key in person["keys"]:
        assert (key.hint in confirmation.body) is not revoke_keys


def test_a_password_change_keeps_this_session_only(person: dict, django_capture_on_commit_callbacks) -> None:
    elsewhere, browser = Client(), Client()
    elsewhere.force_login(person["user"])
    browser.force_login(person["user"])
    new = "another-brand-new-pass-phrase"
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            reverse("accounts:password_change"),
            {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        )
    assert response.status_code == 302
    assert browser.get(reverse("accounts:home")).status_code == 302  # still signed in: to an organization
    assert reverse("accounts:login") not in browser.get(reverse("accounts:home"))["Location"]
    assert elsewhere.get(reverse("accounts:home"))["Location"].startswith(reverse("accounts:login"))
    assert not any(access_token_works(token) for token in person["tokens"])
    assert "was changed" in mail.outbox[-1].body

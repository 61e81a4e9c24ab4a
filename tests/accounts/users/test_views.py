"""Sign-up, sign-in (with the lockout), sign-out, password change and reset."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, User
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def sign_in(client: Client, email: str, password: str) -> object:
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_signup_creates_a_user_signs_them_in_and_asks_for_an_organization(client: Client) -> None:
    response = client.post(
        reverse("accounts:signup"),
        {
            "email": "New.Person@Example.com",
            "name": "New Person",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    user = User.objects.get(email="new.person@example.com")
    assert user.name == "New Person"
    assert client.session[SESSION_KEY] == str(user.pk)
    assert response["Location"] == reverse("accounts:home")
    assert client.get(reverse("accounts:home"))["Location"] == reverse("accounts:org_create")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-email", "password1": PASSWORD, "password2": PASSWORD}, "email"),
        ({"email": "a@example.com", "password1": PASSWORD, "password2": PASSWORD + "x"}, "password2"),
        ({"email": "a@example.com", "password1": "123", "password2": "123"}, "password2"),
    ],
)
def test_signup_with_bad_input_shows_the_field_error_and_creates_nothing(
    client: Client, data: dict[str, str], field: str
) -> None:
    response = client.post(reverse("accounts:signup"), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not User.objects.exists()


def test_signup_refuses_an_email_that_already_has_an_account_whatever_its_case(client: Client) -> None:
    UserFactory(email="taken@example.com")
    response = client.post(
        reverse("accounts:signup"),
        {"email": "TAKEN@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert "already exists" in str(response.context["form"].errors["email"])
    assert User.objects.count() == 1


def test_signup_returns_to_a_safe_next_url_only(client: Client) -> None:
    data = {"email": "n@example.com", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post(reverse("accounts:signup") + "?next=https://evil.example/", data)
    assert response["Location"] == reverse("accounts:home")
    other = Client()
    data["email"] = "m@example.com"
    response = other.post(reverse("accounts:signup") + "?next=/organizations/new/", data)
    assert response["Location"] == "/organizations/new/"


def test_sign_in_with_email_and_password_lands_in_the_users_organization(client: Client) -> None:
    membership = MembershipFactory(organization__slug="acme", user__email="ann@example.com")
    response = sign_in(client, "ANN@example.com", PASSWORD)
    assert client.session[SESSION_KEY] == str(membership.user.pk)
    response = client.get(response["Location"])
    assert response["Location"] == reverse("accounts:org_home", kwargs={"org_slug": "acme"})


def test_wrong_password_is_a_form_error_that_does_not_say_which_part_was_wrong(client: Client) -> None:
    UserFactory(email="ann@example.com")
    response = sign_in(client, "ann@example.com", "wrong password")
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_repeated_failed_sign_ins_lock_the_account_out_even_with_the_right_password(
    client: Client, settings: object
) -> None:
    UserFactory(email="ann@example.com")
    for _ in range(5):
        sign_in(client, "ann@example.com", "wrong password")
    response = sign_in(client, "ann@example.com", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_the_lockout_is_per_account_and_address_so_others_can_still_sign_in(client: Client) -> None:
    UserFactory(email="ann@example.com")
    UserFactory(email="bob@example.com")
    for _ in range(5):
        sign_in(client, "ann@example.com", "wrong password")
    response = sign_in(client, "bob@example.com", PASSWORD)
    assert response.status_code == 302


def test_sign_out_needs_a_post_and_ends_the_session(client: Client) -> None:
    client.force_login(UserFactory())
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert SESSION_KEY not in client.session


def test_password_change_keeps_the_user_signed_in_and_changes_the_password(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    new = "an entirely new passphrase"
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    assert client.session[SESSION_KEY] == str(user.pk)


def test_password_change_with_a_wrong_old_password_changes_nothing(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "nope", "new_password1": "x" * 20, "new_password2": "x" * 20},
    )
    assert response.context["form"].errors["old_password"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_reset_emails_a_single_use_link_that_sets_a_new_password(client: Client) -> None:
    user = UserFactory(email="ann@example.com")
    response = client.post(reverse("accounts:password_reset"), {"email": "ann@example.com"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]  # Django swaps the token for a session value first
    new = "an entirely new passphrase"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response["Location"] == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(new)
    assert client.get(link).context["validlink"] is False


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(client: Client) -> None:
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_dashboard_pages_send_anonymous_visitors_to_sign_in(client: Client) -> None:
    membership = MembershipFactory(organization__slug="acme")
    response = client.get(reverse("accounts:projects", kwargs={"org_slug": "acme"}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    assert Membership.objects.for_org(membership.organization).count() == 1


def test_case_variants_of_one_email_share_one_lockout(client: Client) -> None:
    UserFactory(email="ann@example.com")
    for variant in (
        "ann@example.com",
        "ANN@example.com",
        "Ann@Example.com",
        "aNN@example.com",
        "ann@EXAMPLE.com",
    ):
        sign_in(client, variant, "wrong password")
    assert sign_in(client, "ann@example.com", PASSWORD).status_code == 429

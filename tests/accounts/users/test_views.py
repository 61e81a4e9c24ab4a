"""Sign-up, sign-in (with the lockout), sign-out, password change and reset."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

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


def _signup(client: Client, email: str, next_url: str = "", **extra: str) -> object:
    data = {"email": email, "name": "New Person", "password1": PASSWORD, "password2": PASSWORD, **extra}
    return client.post(reverse("accounts:signup") + (f"?next={next_url}" if next_url else ""), data)


def _link(body: str) -> str:
    [link] = re.findall(r"https?://\S+/account/confirm-email/\S+/", body)
    return urlsplit(link).path


def test_signup_creates_an_unconfirmed_user_and_mails_a_confirmation_link(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _signup(client, "New.Person@Example.com")
    user = User.objects.get(email="new.person@example.com")
    assert (user.name, user.email_verified) == ("New Person", False)
    assert SESSION_KEY not in client.session  # not signed in until the address is confirmed
    assert response["Location"] == reverse("accounts:signup_check_email")
    assert "new.person@example.com" in client.get(response["Location"]).content.decode()
    [email] = mail.outbox
    assert email.to == ["new.person@example.com"]
    # The link moves its token into the session, then a button confirms (a mail scanner's GET does not).
    page = client.get(client.get(_link(email.body))["Location"])
    assert "Confirm my address" in page.content.decode()
    user.refresh_from_db()
    assert not user.email_verified
    confirmed = client.post(page.wsgi_request.path)
    user.refresh_from_db()
    assert user.email_verified
    assert confirmed["Location"] == "/login/?email=new.person%40example.com"
    assert client.post(page.wsgi_request.path).status_code == 400  # used up
    assert sign_in(client, "new.person@example.com", PASSWORD)["Location"] == reverse("accounts:home")


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


def test_signup_answers_an_existing_address_like_a_new_one(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    UserFactory(email="taken@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        taken = _signup(client, "TAKEN@example.com")
        fresh = _signup(Client(), "fresh@example.com")
    assert taken.status_code == fresh.status_code == 302
    assert taken["Location"] == fresh["Location"] == reverse("accounts:signup_check_email")
    assert User.objects.filter(email="taken@example.com").count() == 1
    # The owner of the address is told (and how to sign in); nobody else learns anything.
    told = next(m for m in mail.outbox if m.to == ["taken@example.com"])
    assert "already has one" in told.body
    assert "/password-reset/" in told.body


def test_signup_returns_to_a_safe_next_url_only_after_confirming(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    for email, next_url, expected in (
        ("n@example.com", "https://evil.example/", "/login/?email=n%40example.com"),
        (
            "m@example.com",
            "/organizations/new/",
            "/login/?email=m%40example.com&next=%2Forganizations%2Fnew%2F",
        ),
    ):
        browser = Client()
        with django_capture_on_commit_callbacks(execute=True):
            _signup(browser, email, next_url)
        page = browser.get(_link(mail.outbox[-1].body))["Location"]
        assert browser.post(page)["Location"] == expected


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

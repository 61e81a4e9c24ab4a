"""Steps the journeys share: signing in, signing up, confirming an email address when asked."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.support.mailbox import Mailbox, links

PASSWORD = "a long journey passphrase 7"  # a test account's password


def new_email(who: str) -> str:
    return f"{who}-{secrets.token_hex(4)}@example.com"


def account_menu(page: Page, email: str) -> Locator:
    """The signed-in person's account menu (top right), which names them."""
    return page.locator("header details.menu summary", has_text=email)


def sign_in(page: Page, base_url: str, *, email: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(account_menu(page, email)).to_be_visible()


def fill_sign_up_form(page: Page, *, email: str | None, name: str, password: str = PASSWORD) -> None:
    """Fill in and submit the sign-up form on the current page (`email` None: keep the one filled in)."""
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    if email is not None:
        page.get_by_label("Work email").fill(email)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password confirmation").fill(password)
    page.get_by_role("button", name="Create account").click()


# A page asking a new account to confirm its address. (Sign-up is about to require it before an
# account may accept invitations, answering alike whether or not the address already had one.)
ASKS_TO_CONFIRM = re.compile(r"confirm|verify|check your (e-?mail|inbox)", re.IGNORECASE)


def confirm_email_if_asked(
    page: Page,
    mailbox: Mailbox,
    base_url: str,
    *,
    email: str,
    since: set[Path],
    password: str | None = None,
) -> bool:
    """After signing up: if the page asks to confirm the address rather than signing the person in,
    follow the newest link mailed to it (and press the page's confirm button, if it has one). A
    confirmed address leads to the sign-in page with the address filled in: given `password`, sign in.

    `since` is `mailbox.files()` from before the form was submitted. Returns whether it was needed.
    """
    page.wait_for_load_state()
    if account_menu(page, email).count():
        return False
    expect(page.locator("main")).to_contain_text(ASKS_TO_CONFIRM)
    message = mailbox.wait_for(to=email, since=since)
    found = links(message, base_url)
    assert found, f"no link to {base_url} in the mail asking to confirm:\n{message}"
    page.goto(found[0])
    confirm = page.get_by_role("button", name=re.compile(r"confirm|verify", re.IGNORECASE))
    if confirm.count():
        confirm.first.click()
        page.wait_for_load_state()
    sign_in_button = page.get_by_role("button", name="Sign in")
    if password is not None and sign_in_button.count():
        expect(page.get_by_label("Email")).to_have_value(email)
        page.get_by_label("Password").fill(password)
        sign_in_button.click()
        expect(account_menu(page, email)).to_be_visible()
    return True

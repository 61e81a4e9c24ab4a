"""A new person's journeys, in Chromium against a real server: signing up and starting an organization,
and joining one from an emailed invitation. Mail is read from the server's mailbox directory."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.steps import (
    PASSWORD,
    account_menu,
    confirm_email_if_asked,
    fill_sign_up_form,
    new_email,
    sign_in,
)
from tests.support.mailbox import Mailbox, links

pytestmark = pytest.mark.browser


def test_sign_up_then_an_organization_and_a_project(
    page: Page, live_server_url: str, mailbox: Mailbox
) -> None:
    email = new_email("founder")
    suffix = secrets.token_hex(3)
    page.goto(f"{live_server_url}/")
    page.get_by_role("link", name="Sign up").click()
    before = mailbox.files()
    fill_sign_up_form(page, email=email, name="Fay Founder")
    confirm_email_if_asked(page, mailbox, live_server_url, email=email, since=before, password=PASSWORD)

    # A new account has no organization yet: home asks for one.
    page.goto(f"{live_server_url}/")
    expect(account_menu(page, email)).to_be_visible()
    expect(page.get_by_role("heading", name="Create your organization")).to_be_visible()
    page.get_by_label("Organization name").fill(f"Founder Works {suffix}")
    page.get_by_role("button", name="Create organization").click()
    expect(page).to_have_url(re.compile(rf"/orgs/founder-works-{suffix}/projects/$"))

    page.get_by_role("link", name="New project").first.click()
    page.get_by_label("Name").fill("Launch plan")
    page.get_by_label("Description").fill("What we ship first.")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Launch plan")).to_be_visible()
    page.get_by_role("complementary", name="Organization navigation").get_by_role(
        "link", name="Projects"
    ).click()
    expect(page.get_by_role("link", name="Launch plan")).to_be_visible()

    # She owns it: the audit log shows both, done by her.
    page.get_by_role("link", name="Audit log").click()  # the sidebar
    events = page.get_by_test_id("audit-events")
    expect(events).to_contain_text("Organization created")
    expect(events).to_contain_text("Project created")
    expect(events).to_contain_text(email)


def test_an_emailed_invitation_is_accepted_by_a_new_account(
    new_page: Callable[[], Page], live_server_url: str, mailbox: Mailbox
) -> None:
    invitee = new_email("invitee")
    owner = new_page()
    sign_in(owner, live_server_url, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    owner.goto(f"{live_server_url}/orgs/demo/members/")
    before = mailbox.files()
    owner.get_by_label("Email address").fill(invitee)
    owner.get_by_role("button", name="Send invitation").click()
    expect(owner.get_by_text(invitee).first).to_be_visible()

    invitation = mailbox.wait_for(to=invitee, since=before)
    link = next(url for url in links(invitation, live_server_url) if "/invitations/" in url)

    # Someone else's browser: the link, then an account made from the invitation page.
    guest = new_page()
    guest.goto(link)
    expect(guest).to_have_url(re.compile(r"/invitations/accept/$"))  # the token left the address bar
    expect(guest.get_by_role("heading", name="Join Demo")).to_be_visible()
    guest.get_by_role("link", name="Create account").click()
    expect(guest.get_by_label("Work email")).to_have_value(invitee)
    before = mailbox.files()
    fill_sign_up_form(guest, email=None, name="Ian Invitee")
    if confirm_email_if_asked(
        guest, mailbox, live_server_url, email=invitee, since=before, password=PASSWORD
    ):
        guest.goto(link)  # back to the invitation, now with a confirmed account
    guest.get_by_role("button", name="Accept and join Demo").click()
    expect(guest).to_have_url(re.compile(r"/orgs/demo/"))
    expect(guest.get_by_role("status")).to_contain_text("Welcome to Demo! You joined as Member.")

    # The owner sees a new member, and the invitation no longer pending.
    owner.reload()
    members = owner.get_by_test_id("members")
    expect(members).to_contain_text(invitee)
    expect(members).to_contain_text("Member")
    owner.goto(f"{live_server_url}/orgs/demo/audit/?action=member.joined")
    expect(owner.get_by_test_id("audit-events")).to_contain_text(invitee)

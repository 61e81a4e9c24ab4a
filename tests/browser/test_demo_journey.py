"""The first-day journey, in a real browser against a real server: what `make run` promises.

The demo user signs in, creates an organization, a project and a document, invites a member, and
finds each of those actions in the organization's audit log.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_demo_user_builds_an_organization_and_sees_it_audited(page: Page, live_server_url: str) -> None:
    page.goto(f"{live_server_url}/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Email").fill("demo@gatehouse.local")
    page.get_by_label("Password").fill("gatehouse-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()

    # A new organization, through the switcher.
    page.locator("[data-testid=org-switcher] summary").click()
    page.get_by_role("menuitem", name="New organization…").click()
    page.get_by_label("Organization name").fill("Journey Labs")
    page.get_by_role("button", name="Create organization").click()
    expect(page).to_have_url(re.compile(r"/orgs/journey-labs/projects/"))

    # A project and a document in it.
    page.get_by_role("link", name="New project").first.click()
    page.get_by_label("Name").fill("Research")
    page.get_by_label("Description").fill("Notes our AI clients may read.")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Research")).to_be_visible()
    page.get_by_role("link", name="New document").first.click()
    page.get_by_label("Title").fill("Findings")
    page.get_by_label("Body").fill("# Findings\n\n- **Tenancy** is sacred.")
    page.get_by_role("button", name="Create document").click()
    expect(page.get_by_role("heading", name="Findings").first).to_be_visible()
    expect(page.locator(".prose strong")).to_have_text("Tenancy")

    # An invitation.
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Email address").fill("colleague@example.com")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("colleague@example.com").first).to_be_visible()

    # Each of those actions is in the audit log.
    page.get_by_role("link", name="Audit log").click()
    log = page.locator("main table")
    for action in ("org.created", "project.created", "document.created", "member.invited"):
        expect(log).to_contain_text(action)
    expect(log).to_contain_text("demo@gatehouse.local")

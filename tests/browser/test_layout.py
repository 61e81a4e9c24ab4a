"""Layout with long unbroken names: no page is wider than the window, at 1280 px or on a 390 px phone.
And the audit log's filter form leaves empty fields out of the URL."""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Page, expect

from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.steps import (
    PASSWORD,
    confirm_email_if_asked,
    fill_sign_up_form,
    new_email,
    sign_in,
)
from tests.support.mailbox import Mailbox

pytestmark = pytest.mark.browser

PAGES = (
    "projects/",
    "projects/{project}/",
    "connect/",
    "members/",
    "keys/",
    "keys/new/",
    "audit/",
    "settings/",
    "connected-apps/",
)


def _scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_long_unbroken_names_never_widen_a_page(page: Page, live_server_url: str, mailbox: Mailbox) -> None:
    email = new_email("a" * 40)
    page.goto(f"{live_server_url}/signup/")
    before = mailbox.files()
    fill_sign_up_form(page, email=email, name="N" * 60)
    confirm_email_if_asked(page, mailbox, live_server_url, email=email, since=before, password=PASSWORD)
    slug = f"wide-{secrets.token_hex(3)}"
    page.goto(f"{live_server_url}/organizations/new/")
    page.get_by_label("Organization name").fill("O" * 100)
    page.get_by_label("Address").fill(slug)
    page.get_by_role("button", name="Create organization").click()
    page.get_by_role("link", name="New project").first.click()
    page.get_by_label("Name").fill("P" * 100)
    page.get_by_label("Slug").fill("wide")
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(re.compile(r"/projects/wide/$"))

    too_wide = []
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for path in PAGES:
            page.goto(f"{live_server_url}/orgs/{slug}/{path.format(project='wide')}")
            if _scroll_width(page) > width:
                too_wide.append((width, path, _scroll_width(page)))
    assert too_wide == []


def test_the_audit_filters_leave_empty_fields_out_of_the_url(
    page: Page, live_server_url: str, mailbox: Mailbox
) -> None:
    email = new_email("filters")
    page.goto(f"{live_server_url}/signup/")
    before = mailbox.files()
    fill_sign_up_form(page, email=email, name="Fil Ters")
    confirm_email_if_asked(page, mailbox, live_server_url, email=email, since=before, password=PASSWORD)
    slug = f"filters-{secrets.token_hex(3)}"
    page.goto(f"{live_server_url}/organizations/new/")
    page.get_by_label("Organization name").fill("Filters")
    page.get_by_label("Address").fill(slug)
    page.get_by_role("button", name="Create organization").click()
    page.goto(f"{live_server_url}/orgs/{slug}/audit/")
    page.get_by_label("Action").select_option(label="Organization created")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_test_id("audit-events")).to_contain_text("Organization created")
    query = parse_qsl(urlsplit(page.url).query, keep_blank_values=True)
    assert query == [("action", "org.created")]


def test_the_api_keys_table_fits_at_1280_px_in_russian(page: Page, live_server_url: str) -> None:
    # Russian column names and buttons are the longest: the row's actions must be in view, not scrolled to.
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server_url, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    page.set_extra_http_headers({"Accept-Language": "ru"})
    page.goto(f"{live_server_url}/orgs/demo/keys/")
    wrap = page.locator(".table-wrap").filter(has=page.get_by_test_id("api-keys"))
    expect(wrap).to_contain_text("Отозвать")
    overflow = wrap.evaluate("element => element.scrollWidth - element.clientWidth")
    assert overflow <= 0

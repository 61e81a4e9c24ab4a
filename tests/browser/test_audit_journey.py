"""The audit log in the dashboard: filtering it, then exporting exactly the filtered events (CSV, JSON)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from playwright.sync_api import Page, expect

from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.guard import PageGuard
from tests.browser.steps import sign_in

pytestmark = pytest.mark.browser


def download(page: Page, guard: PageGuard, link: str, fmt: str) -> tuple[str, str]:
    """Click an export link; the suggested file name and the file's text."""
    # A navigation that turns into a download is aborted as a page load: Chromium reports it failed.
    guard.expect_failure(rf"/orgs/demo/audit/export\.{fmt}\?", "net::ERR_ABORTED")
    with page.expect_download() as started:
        page.get_by_role("link", name=link).click()
    file = started.value
    assert file.failure() is None, file.failure()
    return file.suggested_filename, file.path().read_text()


def test_audit_log_filtered_then_exported(page: Page, guard: PageGuard, live_server_url: str) -> None:
    sign_in(page, live_server_url, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    page.goto(f"{live_server_url}/orgs/demo/projects/")
    page.get_by_role("link", name="Audit log").click()
    events = page.get_by_test_id("audit-events")
    expect(events).to_contain_text("Document created")  # unfiltered: seed_demo's events, among others

    page.get_by_label("Action").select_option(label="Project created")
    page.get_by_label("Channel").select_option(label="System")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"[?&]action=project\.created"))
    rows = events.locator("tbody.audit-event > tr:first-child")
    expect(rows.first).to_be_visible()
    shown = rows.count()
    for index in range(shown):
        expect(rows.nth(index).locator("td").nth(2)).to_have_text("Project created")
    expect(events).not_to_contain_text("Document created")

    # The exports carry the page's filters: the same events, and only those.
    name, text = download(page, guard, "Export CSV", "csv")
    assert re.fullmatch(r"audit-demo-\d{4}-\d{2}-\d{2}\.csv", name)
    exported = list(csv.DictReader(io.StringIO(text)))
    assert len(exported) == shown
    assert {(row["action"], row["channel"]) for row in exported} == {("project.created", "system")}
    assert all(row["hash"] for row in exported)  # sealed, with their place in the chain

    name, text = download(page, guard, "Export JSON", "json")
    assert name.endswith(".json")
    assert [event["action"] for event in json.loads(text)] == ["project.created"] * shown
    page.get_by_role("link", name="Clear filters").first.click()
    expect(events).to_contain_text("Document created")

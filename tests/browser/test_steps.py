"""The journeys' own helpers, on pages and mail made up here: the guard that fails a journey on a console
error or a failed request, reading the mailbox directory, and the email-confirmation step sign-up may
ask for (the journeys pass through it only once sign-up asks)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.core.mail import EmailMessage
from playwright.sync_api import Browser, Page, expect

from tests.browser.guard import PageGuard
from tests.browser.steps import confirm_email_if_asked
from tests.support.mailbox import SEPARATOR, Mailbox, links

pytestmark = pytest.mark.browser


def write_mail(directory: Path, name: str, *messages: EmailMessage, mtime: int) -> Path:
    """A file the way django.core.mail.backends.filebased writes one: each message, then a separator."""
    path = directory / name
    path.write_bytes(b"".join(m.message().as_bytes() + SEPARATOR.encode() for m in messages))
    os.utime(path, (mtime, mtime))
    return path


def test_the_mailbox_finds_the_newest_mail_to_someone(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path)
    old = write_mail(
        tmp_path, "a.log", EmailMessage("Old", "http://gh.test/old/", to=["x@example.com"]), mtime=1
    )
    before = {old}
    write_mail(
        tmp_path,
        "b.log",
        EmailMessage("Newer", "Open http://gh.test/confirm/abc/ to confirm.", to=["x@example.com"]),
        EmailMessage("Other", "http://gh.test/other/", to=["y@example.com"]),
        mtime=2,
    )
    (tmp_path / "c.log").write_text("To: x@example.com\n\nhalf written")  # no separator yet: skipped

    message = mailbox.wait_for(to="X@example.com", since=before, timeout=1)

    assert message["Subject"] == "Newer"
    assert links(message, "http://gh.test") == ["http://gh.test/confirm/abc/"]
    with pytest.raises(AssertionError, match=r"no mail to z@example\.com"):
        mailbox.wait_for(to="z@example.com", since=before, timeout=0.2)


def test_a_page_asking_to_confirm_leads_to_the_newest_mailed_link(
    page: Page, live_server_url: str, tmp_path: Path
) -> None:
    mailbox = Mailbox(tmp_path)
    before = mailbox.files()
    body = f"Confirm your address: {live_server_url}/login/?next=/confirmed/\n"
    write_mail(tmp_path, "a.log", EmailMessage("Confirm", body, to=["new@example.com"]), mtime=1)
    page.set_content("<main><h1>Check your email</h1><p>We sent a link to confirm your address.</p></main>")

    assert confirm_email_if_asked(page, mailbox, live_server_url, email="new@example.com", since=before)
    expect(page).to_have_url(f"{live_server_url}/login/?next=/confirmed/")


def test_the_guard_reports_what_the_journey_did_not_announce(browser: Browser, live_server_url: str) -> None:
    guard = PageGuard()  # not the fixture's: this test looks at what it collects
    context = browser.new_context()
    try:
        page = context.new_page()
        guard.watch(page)
        guard.expect_response(404, r"/announced-missing/$")
        page.goto(f"{live_server_url}/announced-missing/")
        page.goto(f"{live_server_url}/orgs/demo/")  # not signed in: redirected to sign in, no problem
        assert guard.problems == []

        page.goto(f"{live_server_url}/unannounced-missing/")
        page.evaluate("console.error('boom')")
        page.add_script_tag(content="throw new Error('uncaught')")
        deadline = time.monotonic() + 10
        while len(guard.problems) < 4 and time.monotonic() < deadline:
            page.evaluate("1")  # lets Playwright deliver the page's events
    finally:
        context.close()

    report = "\n".join(guard.problems)
    assert f"404 for GET {live_server_url}/unannounced-missing/" in report
    assert "Failed to load resource" in report  # Chromium's console line for that 404
    assert "console error" in report
    assert "boom" in report
    assert "uncaught exception" in report
    assert "announced-missing" not in report.replace("unannounced-missing", "")

"""Headless Chromium; the real Gatehouse it drives is `live_server_url` (tests/support/live.py).

Every page is watched by a `PageGuard` (tests/browser/guard.py): a console error, an uncaught
exception, a failed request or an unannounced 4xx/5xx response fails the test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.guard import PageGuard
from tests.browser.screenshot import CHROMIUM, CHROMIUM_ARGS
from tests.support.mailbox import Mailbox


def _require_chromium() -> None:
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); CI installs and runs it")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def guard() -> Iterator[PageGuard]:
    watcher = PageGuard()
    yield watcher
    watcher.check()  # after every page of the test is closed (new_page's teardown runs first)


@pytest.fixture
def new_page(browser: Browser, guard: PageGuard) -> Iterator[Callable[[], Page]]:
    """Open a page in a fresh browser context (its own cookies: another person), watched by `guard`."""
    contexts: list[BrowserContext] = []

    def open_page() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.set_default_timeout(15_000)
        context.on("page", guard.watch)  # the first page and any popup
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


@pytest.fixture
def mailbox(live_mailbox: Path) -> Mailbox:
    return Mailbox(live_mailbox)

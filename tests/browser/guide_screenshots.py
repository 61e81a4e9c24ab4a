"""The user guide's screenshots (docs/images/), English and Russian, of a real Gatehouse: `make screenshots`.

Starts its own server on a free loopback port with a fresh SQLite demo database (seed_demo), signs in
as the demo user, takes each page at 1280 px in both languages, and stops the server by its PID.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser.screenshot import CHROMIUM, CHROMIUM_ARGS
from tests.support.servers import ROOT, demo_database, demo_server

OUT = ROOT / "docs" / "images"
# seed_demo's published development account (not imported: that would need Django set up here).
DEMO_EMAIL = "demo@gatehouse.local"
DEMO_PASSWORD = "gatehouse-demo"
PAGES = {
    "projects": "/orgs/demo/projects/",
    "document": "/orgs/demo/projects/handbook/",
    "members": "/orgs/demo/members/",
    "keys": "/orgs/demo/keys/",
    "key-create": "/orgs/demo/keys/new/",
    "connect": "/orgs/demo/connect/",
    "connected-apps": "/orgs/demo/connected-apps/",
    "audit": "/orgs/demo/audit/",
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as scratch,
        demo_server(demo_database(Path(scratch))) as server,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for language in ("en", "ru"):
            context = browser.new_context(
                viewport={"width": 1280, "height": 800},
                locale=language,
                extra_http_headers={"Accept-Language": language},
            )
            page = context.new_page()
            page.goto(f"{server.url}/login/")
            page.fill("input[name=username]", DEMO_EMAIL)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            for name, path in PAGES.items():
                page.goto(f"{server.url}{path}")
                target = OUT / f"{name}-{language}.png"
                page.screenshot(path=target)  # the first screen only: small files
                print(target.relative_to(ROOT), page.title())
            context.close()
        browser.close()


if __name__ == "__main__":
    main()

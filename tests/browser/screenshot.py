"""Screenshot dashboard pages in headless Chromium, signed in as a user: a developer's look at the UI.

    .venv/bin/python -m tests.browser.screenshot --base http://127.0.0.1:8000 \
        --email demo@gatehouse.local --password gatehouse-demo /orgs/demo/projects/ /orgs/demo/members/

PNGs go to .screenshots/ (ignored by git). Uses Debian's /usr/bin/chromium through Playwright.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--email")
    parser.add_argument("--password")
    parser.add_argument("--out", default=".screenshots")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--mobile", action="store_true", help="also take a 390px-wide shot of each page")
    parser.add_argument("--language", default="en", help="the browser's language (Accept-Language), e.g. ru")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(
            viewport={"width": args.width, "height": 900},
            locale=args.language,
            extra_http_headers={"Accept-Language": args.language},
        )
        if args.email:
            page.goto(f"{args.base}/login/")
            page.fill("input[name=username]", args.email)
            page.fill("input[name=password]", args.password)
            page.click("button[type=submit]")
            page.wait_for_load_state()
        for path in args.paths:
            name = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0].lower()).strip("-")[:80] or "root"
            if args.language != "en":
                name = f"{name}-{args.language}"
            page.set_viewport_size({"width": args.width, "height": 900})
            page.goto(f"{args.base}{path}")
            page.screenshot(path=out / f"{name}.png", full_page=True)
            print(out / f"{name}.png", page.title())
            if args.mobile:
                page.set_viewport_size({"width": 390, "height": 800})
                page.screenshot(path=out / f"{name}-mobile.png", full_page=True)
        browser.close()


if __name__ == "__main__":
    main()

"""A `$BROWSER` for MCP clients under test: the person who signs in and clicks Allow, as a script.

Clients open the authorize URL with `$BROWSER <url>` (the Inspector through the `open` package's
xdg-open, our TypeScript client directly). This program does what the person would: signs in through
/login/ (session cookie + CSRF token), opens the consent page, picks the organization, submits the real
form, then follows the redirect to the client's loopback callback. Nothing is skipped or auto-approved.

    python -m tests.clients.fake_browser --email E --password P --org demo --log visits.jsonl URL

Each visit appends one JSON line to --log (the client, not the test, starts this program, so its
outcome is reported there, failures included).
"""

from __future__ import annotations

import argparse
import json
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2

from tests.support.oauth_flow import consent_redirect, sign_in


@dataclass(frozen=True)
class FakeBrowser:
    """The `$BROWSER` command a test gives a client (tests/clients/conftest.py), and its log of visits."""

    command: Path
    log: Path

    def visits(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


def visit(authorize_url: str, *, email: str, password: str, org: str) -> dict[str, Any]:
    parts = urlsplit(authorize_url)
    base_url = f"{parts.scheme}://{parts.netloc}"
    with httpx2.Client(timeout=30) as browser:
        sign_in(browser, base_url, email=email, password=password)
        location = consent_redirect(browser, authorize_url, org_slug=org)
        callback = browser.get(location)  # the client's loopback callback server
    return {"authorize_url": authorize_url, "redirect": location, "callback_status": callback.status_code}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--org", required=True, help="the organization to pick on the consent page")
    parser.add_argument("--log", required=True, type=Path)
    parser.add_argument("url")
    args = parser.parse_args()
    try:
        record = visit(args.url, email=args.email, password=args.password, org=args.org)
    except Exception:
        record = {"authorize_url": args.url, "error": traceback.format_exc()}
    with args.log.open("a") as log:
        log.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()

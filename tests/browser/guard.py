"""What a journey must not meet: a console error, an uncaught exception, a failed request, a 4xx/5xx.

Every page of a browser test is watched (tests/browser/conftest.py) and the test fails at its end
if anything went wrong that the journey did not announce first with `expect_response` or
`expect_failure`, naming exactly the request it makes on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playwright.sync_api import ConsoleMessage, Page, Request, Response


@dataclass
class _Expected:
    url: re.Pattern[str]
    status: int | None  # None: a request that fails without a response (net::ERR_…)
    failure: str = ""


@dataclass
class PageGuard:
    problems: list[str] = field(default_factory=list)
    _expected: list[_Expected] = field(default_factory=list)

    def expect_response(self, status: int, url: str) -> None:
        """A response with this status (>= 400) to a URL matching the regex `url` is part of the journey."""
        self._expected.append(_Expected(url=re.compile(url), status=status))

    def expect_failure(self, url: str, failure: str) -> None:
        """A request to `url` (regex) failing with `failure` (net::ERR_ABORTED…) is part of the journey."""
        self._expected.append(_Expected(url=re.compile(url), status=None, failure=failure))

    def watch(self, page: Page) -> None:
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.problems.append(f"uncaught exception on {page.url}: {error}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def check(self) -> None:
        assert not self.problems, "the journey met problems:\n" + "\n".join(self.problems)

    def _allowed(self, url: str, status: int | None, failure: str = "") -> bool:
        return any(
            e.url.search(url) and e.status == status and (status is not None or e.failure == failure)
            for e in self._expected
        )

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        source = str(message.location.get("url", ""))
        # Chromium logs every 4xx/5xx it loads; an announced one is not a problem twice.
        announced = message.text.startswith("Failed to load resource") and any(
            e.url.search(source) and e.status is not None for e in self._expected
        )
        if not announced:
            self.problems.append(f"console error on {page.url}: {message.text} ({source})")

    def _request_failed(self, request: Request) -> None:
        failure = request.failure or ""
        if failure == "net::ERR_ABORTED" and request.resource_type != "document":
            # A subresource (the favicon, a script) cancelled because the page moved on: not a failure.
            # A page load that is aborted (a download, say) must still be announced.
            return
        if not self._allowed(request.url, None, failure):
            self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and not self._allowed(response.url, response.status):
            self.problems.append(f"{response.status} for {response.request.method} {response.url}")

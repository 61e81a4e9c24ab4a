"""Scenario 1: a change made through process A is seen by process B's very next request.

Each credential is first used on both processes until both answer it from their credential caches
(accounts/core/credential_cache.py); then A's dashboard revokes the key, lowers the member's role or
removes the member, or A's RFC 7009 endpoint revokes the OAuth token; then B is asked at once, with no
pause: it must refuse (401) or act with the lower role. What makes it hold is the per-organization
credential generation the database moves with the change (docs/operations.md). The exhaustive matrix
of ways to change a credential is tests/security/test_revocation_matrix.py; this is the operator's
view of it: real dashboard and OAuth requests, on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from tests.reliability.report import Result
from tests.reliability.stack import Server, Stack
from tests.reliability.traffic import ERAS, TIMEOUT, mcp_post


@dataclass(frozen=True)
class Case:
    name: str
    token: str
    change: Callable[[], httpx.Response]
    role_after: str | None  # None: refused from then on
    rest: bool = True  # sk- keys also reach the REST API


def sign_in(dashboard: httpx.Client, email: str, password: str) -> None:
    page = dashboard.get("/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if csrf is None:
        raise RuntimeError(f"no CSRF token on the sign-in page ({page.status_code})")
    form = {"csrfmiddlewaretoken": csrf.group(1), "username": email, "password": password}
    signed_in = dashboard.post("/login/", data=form)
    if signed_in.status_code != 302:
        raise RuntimeError(f"sign-in answered {signed_in.status_code}")


def dashboard_post(dashboard: httpx.Client, path: str, **data: str) -> httpx.Response:
    """A dashboard form's POST; the CSRF cookie's value is a valid form token (Django)."""
    return dashboard.post(path, data={"csrfmiddlewaretoken": dashboard.cookies["csrftoken"], **data})


def role_seen(http: httpx.Client, server: Server, token: str, era: str) -> str | None:
    """The role `whoami` acts as on this process; None if refused with 401."""
    response = mcp_post(http, server, token, "whoami", {}, era)
    if response.status_code == 401:
        return None
    if response.status_code != 200 or "result" not in response.json():
        raise RuntimeError(f"whoami on {server.name}: {response.status_code} {response.text[:200]}")
    return str(response.json()["result"]["structuredContent"]["role"])


def rest_role(http: httpx.Client, server: Server, token: str) -> str | None:
    """The role REST `whoami` reports on this process; None if refused with 401."""
    headers = {"Authorization": f"Bearer {token}"}
    response = http.get(f"{server.url}/api/v1/whoami/", headers=headers, timeout=TIMEOUT)
    if response.status_code == 401:
        return None
    if response.status_code != 200:
        raise RuntimeError(f"REST whoami on {server.name}: {response.status_code} {response.text[:200]}")
    return str(response.json()["role"])


def run(stack: Stack, result: Result) -> None:
    seed, a, b = stack.seed, stack.a, stack.b
    members, oauth = seed["members"], seed["oauth"]
    with (
        httpx.Client(base_url=a.url, timeout=TIMEOUT) as dashboard,
        httpx.Client(timeout=TIMEOUT) as http,
    ):
        sign_in(dashboard, seed["email"], seed["password"])
        cases = [
            Case(
                "sk- key revoked",
                members["revoked"]["key"],
                lambda: dashboard_post(dashboard, f"/orgs/demo/keys/{members['revoked']['key_id']}/revoke/"),
                None,
            ),
            Case(
                "role lowered to viewer",
                members["demoted"]["key"],
                lambda: dashboard_post(
                    dashboard, f"/orgs/demo/members/{members['demoted']['id']}/role/", role="viewer"
                ),
                "viewer",
            ),
            Case(
                "member removed",
                members["removed"]["key"],
                lambda: dashboard_post(dashboard, f"/orgs/demo/members/{members['removed']['id']}/remove/"),
                None,
            ),
            Case(
                "wat_ token revoked (RFC 7009)",
                oauth["tokens"][0],
                lambda: http.post(
                    f"{a.url}/oauth/revoke/",
                    data={"token": oauth["tokens"][0], "client_id": oauth["client_id"]},
                    timeout=TIMEOUT,
                ),
                None,
                rest=False,
            ),
        ]
        held = 0
        for number, case in enumerate(cases):
            era = ERAS[number % 2]
            before = {role_seen(http, server, case.token, era) for server in (a, b, a, b)}
            result.check(None not in before and len(before) == 1, f"{case.name}: before the change {before}")
            changed = case.change()
            if not result.check(
                changed.status_code in (200, 302), f"{case.name}: the change answered {changed.status_code}"
            ):
                continue
            # B's very next request, then REST on B and A's next request.
            after = [role_seen(http, b, case.token, era)]
            if case.rest:
                after.append(rest_role(http, b, case.token))
            after.append(role_seen(http, a, case.token, era))
            if result.check(
                all(role == case.role_after for role in after),
                f"{case.name}: expected {case.role_after or '401'} on B then A, got {after}",
            ):
                held += 1
        result.note(f"{held}/{len(cases)} changes via A seen by B's very next request")
        result.note(", ".join(case.name for case in cases))

"""The official MCP conformance suite (@modelcontextprotocol/conformance) against a real Gatehouse.

- `server` scenarios, 0.1.16 (the active suite) and 0.2.0-alpha.12 (`--requirements 2026-07-28`), against
  /mcp through tests/clients/proxy.js (the suite cannot send an Authorization header; the proxy adds the
  demo API key and passes Host and Origin through). A scenario that fails and is not in the expected-
  failures file next to this module fails the test, and so does a listed one that passes.
- `authorization` scenarios, 0.2.0-alpha.12, against the OAuth authorization server: the suite prints an
  authorize URL and waits; the demo user signs in and submits the real consent form (session cookie,
  CSRF token), and the browser follows the redirect to the suite's callback. No auto-approve exists.

Each run must also show the pass count pinned here, so a suite that ran nothing cannot pass.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
import yaml

from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.support import node
from tests.support.oauth_flow import consent_redirect, sign_in
from tests.support.processes import Background
from tests.support.servers import Gatehouse, free_port

pytestmark = pytest.mark.clients

EXPECTED_FAILURES = Path(__file__).parent / "conformance"
SUITE_TIMEOUT = 180  # seconds; a whole run takes under 15 s on the CI machine


@pytest.fixture(scope="module")
def proxied_mcp_url(gatehouse: Gatehouse) -> Iterator[str]:
    """/mcp behind the header-adding proxy, on a free port."""
    target, key = str(gatehouse.port), gatehouse.api_key
    command: list[str | Path] = [node.NODE, node.PROXY, "0", target, key, "--until-stdin-closes"]
    with Background(command, cwd=node.CLIENTS) as proxy:
        port = proxy.wait_for(r"proxy listening on (\d+)", timeout=15).group(1)
        yield f"http://127.0.0.1:{port}/mcp"


def expected_failures(name: str) -> dict[str, str]:
    """Scenario -> its one-line reason, from an expected-failures file; every entry must have a reason."""
    path = EXPECTED_FAILURES / name
    reasons: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if match := re.match(r"^\s*-\s*([\w-]+)\s*(?:#\s*(.*))?$", line):
            scenario, reason = match.group(1), (match.group(2) or "").strip()
            assert reason, f"{name}: {scenario} has no reason (a `# …` comment on its line)"
            reasons[scenario] = reason
    # What the suite itself reads is exactly the list the reasons were given for.
    assert yaml.safe_load(path.read_text()) == {"server": list(reasons)}
    return reasons


def run_suite(script: Path, arguments: list[str], output: Path) -> tuple[str, dict[str, list[str]]]:
    """Run the suite to completion; its console output, and each scenario's check statuses (checks.json)."""
    completed = subprocess.run(
        [node.NODE, script, *arguments, "-o", output],
        cwd=node.CLIENTS,
        env=node.node_env(output),
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT,
        check=False,
    )
    console = completed.stdout + completed.stderr
    assert completed.returncode == 0, console[-6000:]
    statuses: dict[str, list[str]] = defaultdict(list)
    for checks in sorted(output.glob("*/checks.json")):
        # <kind>-<scenario>-<ISO timestamp>, e.g. server-tools-list-2026-12-03T12-00-00-000Z
        scenario = re.sub(
            r"^(server|authorization-server)-|-\d{4}-\d{2}-\d{2}T[\d-]+Z$", "", checks.parent.name
        )
        statuses[scenario] += [check["status"] for check in json.loads(checks.read_text())]
    return console, statuses


def totals(console: str) -> tuple[int, int]:
    match = re.search(r"^Total: (\d+) passed, (\d+) failed", console, re.MULTILINE)
    assert match, console[-3000:]
    return int(match.group(1)), int(match.group(2))


def not_passing(statuses: dict[str, list[str]]) -> set[str]:
    """Scenarios with a FAILURE or a WARNING: what --expected-failures counts as failing."""
    return {scenario for scenario, found in statuses.items() if {"FAILURE", "WARNING"} & set(found)}


def test_server_scenarios_0_1_16(proxied_mcp_url: str, tmp_path: Path) -> None:
    expected = expected_failures("expected-failures-0.1.16.yml")
    console, statuses = run_suite(
        node.CONFORMANCE,
        [
            "server",
            "--url",
            proxied_mcp_url,
            "--expected-failures",
            str(EXPECTED_FAILURES / "expected-failures-0.1.16.yml"),
        ],
        tmp_path,
    )

    assert "Baseline check passed: all failures are expected." in console
    assert len(statuses) == 30, sorted(statuses)  # the whole active suite ran
    assert not_passing(statuses) == set(expected)
    passed, _ = totals(console)
    assert passed == 10, console[-3000:]
    # The scenarios a product without the suite's fixtures can pass, did; the Host/Origin checks among them.
    # (tools-call-simple-text and tools-call-error pass too, but vacuously: the suite takes any tool error,
    # "Unknown tool: test_simple_text" included, so they are not asserted on here.)
    for scenario in (
        "server-initialize",
        "ping",
        "tools-list",
        "resources-list",
        "prompts-list",
        "completion-complete",
    ):
        assert statuses[scenario] == ["SUCCESS"], (scenario, statuses[scenario])
    assert statuses["dns-rebinding-protection"] == ["SUCCESS", "SUCCESS"]


def test_server_scenarios_required_by_2026_07_28(proxied_mcp_url: str, tmp_path: Path) -> None:
    expected = expected_failures("expected-failures-2026-07-28.yml")
    console, statuses = run_suite(
        node.CONFORMANCE_ALPHA,
        [
            "server",
            "--url",
            proxied_mcp_url,
            "--requirements",
            "2026-07-28",
            "--expected-failures",
            str(EXPECTED_FAILURES / "expected-failures-2026-07-28.yml"),
        ],
        tmp_path,
    )

    assert "Baseline check passed: all failures are expected." in console
    assert len(statuses) == 50, sorted(statuses)  # every scenario 2026-07-28 requires (and 13 unscored)
    assert not_passing(statuses) == set(expected)
    passed, _ = totals(console)
    assert passed == 117, console[-3000:]
    # The 2026-07-28 transport itself: stateless requests, the routing headers, caching, discovery.
    for scenario in ("caching", "http-header-validation", "sep-2164-resource-not-found", "tools-list"):
        assert statuses[scenario], scenario
        assert set(statuses[scenario]) == {"SUCCESS"}, (scenario, statuses[scenario])
    assert statuses["server-stateless"].count("SUCCESS") >= 26


def test_authorization_server_with_the_real_consent_form(gatehouse: Gatehouse, tmp_path: Path) -> None:
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/callback"
    # The suite does not register (no DCR): the client it uses is registered first, as any app would be.
    registration = httpx.post(
        f"{gatehouse.url}/oauth/register/",
        json={
            "client_name": "MCP conformance suite",
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
        timeout=30,
    )
    assert registration.status_code == 201, registration.text
    client_id = registration.json()["client_id"]
    command: list[str | Path] = [
        node.NODE,
        node.CONFORMANCE_ALPHA,
        "authorization",
        "--url",
        gatehouse.url,
        "--client-id",
        client_id,
        "--resource",
        gatehouse.mcp_url,
        "-p",
        str(port),
        "-o",
        tmp_path,
    ]

    with Background(command, cwd=node.CLIENTS, env=node.node_env(tmp_path)) as suite:
        authorize_url = suite.wait_for(r"^(http://\S+/oauth/authorize/\?\S+)$", timeout=60).group(1)
        suite.wait_for(r"Callback server started", timeout=30)
        # The person: signs in, sees the consent page (200, not an automatic redirect), picks the
        # demo organization and clicks Allow; the browser then goes back to the suite.
        with httpx2.Client(timeout=30) as browser:
            sign_in(browser, gatehouse.url, email=DEMO_EMAIL, password=DEMO_PASSWORD)
            location = consent_redirect(browser, authorize_url, org_slug="demo")
            callback = browser.get(location)
        code = suite.wait(timeout=60)

    console = suite.output
    assert code == 0, console[-6000:]
    assert callback.status_code == 200
    sent = parse_qs(urlsplit(authorize_url).query)
    returned = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{redirect_uri}?")
    assert sent["code_challenge_method"] == ["S256"]
    assert "scope" not in sent
    assert returned["state"] == sent["state"]
    assert returned["iss"] == [gatehouse.url]
    assert returned["code"]
    assert totals(console) == (3, 0), console[-3000:]
    checks = {
        check["id"]: check["status"]
        for path in tmp_path.glob("authorization-server-*/checks.json")
        for check in json.loads(path.read_text())
    }
    assert checks == {
        "authorization-server-metadata": "SUCCESS",
        "authorization-server-metadata-cimd": "SUCCESS",
        "authorization-code-grant": "SUCCESS",
    }

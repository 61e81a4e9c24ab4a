"""The MCP Inspector's command line against a real Gatehouse: v1 (inspector-cli 1.0.3) with an API key,
v2 (inspector 2.12.0) with an API key and through OAuth.

For OAuth the Inspector does it all itself (a 401, protected-resource metadata, authorization-server
metadata, dynamic registration, PKCE S256) and opens the authorize URL with `$BROWSER`; that "browser"
(tests/clients/fake_browser.py) signs in as the demo user and submits the real consent form, and the
Inspector gets the code on its loopback callback, exchanges it and calls the tool.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.clients.fake_browser import FakeBrowser
from tests.support import node
from tests.support.servers import Gatehouse, free_port

pytestmark = pytest.mark.clients

TIMEOUT = 90  # seconds per Inspector run; each takes 1-5 s


def inspector_v1(
    gatehouse: Gatehouse, key: str, *arguments: str, home: Path
) -> subprocess.CompletedProcess[str]:
    # 1.0.3 finds its own package.json relative to the working directory ("../package.json", else the
    # Inspector v2 layout): run it from its build/ directory, or every call fails with "Cannot find module".
    return subprocess.run(
        [
            node.NODE,
            node.INSPECTOR_V1,
            "--cli",
            gatehouse.mcp_url,
            "--transport",
            "http",
            "--header",
            f"Authorization: Bearer {key}",
            *arguments,
        ],
        cwd=node.INSPECTOR_V1.parent,
        env=node.node_env(home),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def inspector_v2(
    gatehouse: Gatehouse, *arguments: str, home: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node.NODE, node.INSPECTOR_V2, "--cli", gatehouse.mcp_url, "--format", "json", *arguments],
        cwd=node.CLIENTS,
        # No keychain on CI machines; registrations and tokens stay in this process's memory.
        env=node.node_env(home, MCP_INSPECTOR_SECRET_STORE="memory", **env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def structured(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The tool result's structured content; the call must have succeeded."""
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    output = json.loads(completed.stdout)
    result = output.get("result", output)  # v2 --format json wraps the result
    assert result["isError"] is False, result
    return dict(result["structuredContent"])


def test_inspector_v1_with_an_api_key(gatehouse: Gatehouse, tmp_path: Path) -> None:
    tools = inspector_v1(gatehouse, gatehouse.api_key, "--method", "tools/list", home=tmp_path)
    whoami = inspector_v1(
        gatehouse, gatehouse.api_key, "--method", "tools/call", "--tool-name", "whoami", home=tmp_path
    )
    projects = inspector_v1(
        gatehouse, gatehouse.api_key, "--method", "tools/call", "--tool-name", "list_projects", home=tmp_path
    )
    wrong = inspector_v1(gatehouse, "sk-not-a-real-key", "--method", "tools/list", home=tmp_path)

    assert tools.returncode == 0, tools.stderr[-3000:]
    names = [tool["name"] for tool in json.loads(tools.stdout)["tools"]]
    assert names[:2] == ["whoami", "list_projects"]
    assert "list_audit_events" in names
    me = structured(whoami)
    assert me["organization"]["slug"] == "demo"
    assert (me["email"], me["credential_kind"], me["role"]) == ("demo@gatehouse.local", "api_key", "owner")
    assert [p["slug"] for p in structured(projects)["projects"]] == ["handbook"]
    assert wrong.returncode == 1
    assert "invalid_token" in wrong.stdout + wrong.stderr


def test_inspector_v2_with_an_api_key(gatehouse: Gatehouse, tmp_path: Path) -> None:
    header = ["--header", f"Authorization: Bearer {gatehouse.api_key}"]
    whoami = inspector_v2(
        gatehouse, *header, "--method", "tools/call", "--tool-name", "whoami", home=tmp_path
    )
    projects = inspector_v2(
        gatehouse, *header, "--method", "tools/call", "--tool-name", "list_projects", home=tmp_path
    )

    me = structured(whoami)
    assert (me["organization"]["slug"], me["credential_kind"]) == ("demo", "api_key")
    assert [p["slug"] for p in structured(projects)["projects"]] == ["handbook"]


def test_inspector_v2_through_oauth(gatehouse: Gatehouse, tmp_path: Path, fake_browser: FakeBrowser) -> None:
    callback = f"http://127.0.0.1:{free_port()}/oauth/callback"
    whoami = inspector_v2(
        gatehouse,
        "--callback-url",
        callback,
        "--method",
        "tools/call",
        "--tool-name",
        "whoami",
        home=tmp_path,
        # Without a terminal the Inspector opens the browser only when told to; it opens $BROWSER.
        MCP_AUTO_OPEN_ENABLED="true",
        BROWSER=str(fake_browser.command),
    )

    visits = fake_browser.visits()
    me = structured(whoami)
    assert len(visits) == 1, visits
    assert "error" not in visits[0], visits[0]["error"]
    assert visits[0]["callback_status"] == 200
    sent = parse_qs(urlsplit(visits[0]["authorize_url"]).query)
    assert sent["redirect_uri"] == [callback]
    assert sent["code_challenge_method"] == ["S256"]
    assert sent["resource"] == [gatehouse.mcp_url]
    assert sent["client_id"][0] == me["credential_id"]  # the client it registered is the one calling
    assert (me["organization"]["slug"], me["credential_kind"]) == ("demo", "oauth")
    assert me["credential_label"] == "MCP Inspector"
    assert "Authorization complete." in whoami.stderr

"""Real MCP clients and the MCP conformance suite against a real Gatehouse (`pytest -m clients`).

Each test module gets its own Gatehouse: `make run` in miniature (its own SQLite file, migrated and
seeded with the demo data once per session and copied, uvicorn on a free loopback port). The clients
are the pinned npm packages of tests/clients/package.json, run with Node 22 from the same lock file
(`.ci/node.sh` installs them).

Without them the tests skip, saying how to install them; in CI (`CI` set, as `.ci/run` does) a missing
client fails instead, so a CI run can never pass by skipping.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.clients.fake_browser import FakeBrowser
from tests.support import node
from tests.support.servers import ROOT, DemoDatabase, Gatehouse, demo_database, demo_server


@pytest.fixture(scope="session")
def node_clients() -> None:
    """The pinned clients are installed, or the test skips (locally) or fails (in CI)."""
    reason = node.missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI installs them with .ci/node.sh (npm ci in tests/clients)")
    pytest.skip(f"{reason}: run `make test-clients` (needs the npm registry); CI installs and runs them")


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory, node_clients: None) -> DemoDatabase:
    return demo_database(tmp_path_factory.mktemp("demo-data"))


@pytest.fixture(scope="module")
def gatehouse(tmp_path_factory: pytest.TempPathFactory, demo_data: DemoDatabase) -> Iterator[Gatehouse]:
    with demo_server(demo_data.copy(tmp_path_factory.mktemp("gatehouse"))) as server:
        yield server


@pytest.fixture
def fake_browser(tmp_path: Path) -> FakeBrowser:
    """A `$BROWSER` that signs in as the demo user and allows access for the demo organization."""
    log = tmp_path / "browser-visits.jsonl"
    arguments = ["--email", DEMO_EMAIL, "--password", DEMO_PASSWORD, "--org", "demo", "--log", str(log)]
    # A path without spaces or colons: xdg-open splits $BROWSER on ":" and runs each entry with the URL.
    command = tmp_path / "browser"
    command.write_text(
        "#!/bin/sh\n"
        f"cd {shlex.quote(str(ROOT))} || exit 1\n"
        f'exec {shlex.quote(sys.executable)} -m tests.clients.fake_browser {shlex.join(arguments)} "$@"\n'
    )
    command.chmod(0o755)
    return FakeBrowser(command=command, log=log)

"""Node 22 and the pinned MCP clients of tests/clients/ (package.json + package-lock.json).

`.ci/node.sh` (or `make test-clients`) installs them from the npm registry into tests/clients/node_modules,
Node 22 itself included; the tests run every client with that Node, never the machine's.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.support.servers import ROOT

CLIENTS = ROOT / "tests" / "clients"
NODE_MODULES = CLIENTS / "node_modules"
NODE = NODE_MODULES / ".bin" / "node"
STAMP = NODE_MODULES / ".gatehouse-lock.sha256"  # written by .ci/node.sh after `npm ci`

# Entry points, run as `NODE <script> ...`.
CONFORMANCE = NODE_MODULES / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"  # 0.1.16
CONFORMANCE_ALPHA = NODE_MODULES / "conformance-alpha" / "dist" / "index.js"  # 0.2.0-alpha.12
INSPECTOR_V1 = NODE_MODULES / "@modelcontextprotocol" / "inspector-cli" / "build" / "cli.js"  # 1.0.3
INSPECTOR_V2 = (
    NODE_MODULES / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
)  # 2.12.0
PROXY = CLIENTS / "proxy.js"
TS_CLIENT = CLIENTS / "ts_client.mjs"


def missing() -> str | None:
    """Why the pinned clients cannot run (not installed, or installed from another lock file), or None."""
    if not NODE.exists():
        return "Node 22 and the pinned MCP clients are not installed"
    lock = hashlib.sha256((CLIENTS / "package-lock.json").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != lock:
        return "tests/clients/node_modules does not match package-lock.json"
    for entry in (CONFORMANCE, CONFORMANCE_ALPHA, INSPECTOR_V1, INSPECTOR_V2):
        if not entry.exists():
            return f"{entry.relative_to(CLIENTS)} is missing"
    return None


# Desktop-session variables make xdg-open (how Node clients open a browser) use the desktop's opener
# instead of $BROWSER, which is how the tests stand in for the person.
DESKTOP = {"XDG_CURRENT_DESKTOP", "DESKTOP_SESSION", "KDE_FULL_SESSION", "GNOME_DESKTOP_SESSION_ID"}


def node_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a Node client: a private HOME (clients keep registrations and tokens there),
    no HTTP proxy (everything is on loopback), no desktop session, no colours in the output read."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.lower().endswith("_proxy") and key not in DESKTOP
    }
    env.update(HOME=str(home), NO_COLOR="1", **extra)
    return env

#!/usr/bin/env bash
# Node 22 and the pinned MCP clients for tests/clients, from the npm registry: `npm ci` installs exactly
# tests/clients/package-lock.json, Node 22 itself included (the `node` package), so the machine's Node
# (20 is enough to run npm) never runs a client. Nothing is installed globally.
# Idempotent: skipped when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/../tests/clients"

if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed to install the MCP clients (apt-get install npm, or any Node >= 20)" >&2
  exit 1
fi

stamp=node_modules/.gatehouse-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x node_modules/.bin/node ]]; then
  echo "== tests/clients: Node $(node_modules/.bin/node --version) and the pinned clients are installed"
  exit 0
fi

echo "== tests/clients: npm ci (Node 22, conformance suite, Inspector, TypeScript SDK)"
# The lock file's engines say Node >= 22; npm itself may run on the machine's older Node.
npm ci --no-audit --no-fund --loglevel=error --engine-strict=false

version=$(node_modules/.bin/node --version)
if [[ "$version" != v22.* ]]; then
  echo "expected Node 22 from the npm registry, got $version" >&2
  exit 1
fi
echo "$want" >"$stamp"
echo "== tests/clients: Node $version"

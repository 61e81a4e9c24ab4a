"""wrk: a Lua script per request shape, one run, and its `--latency` output parsed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
USER_AGENT = "gatehouse-bench"


def request(
    *, tool: str, arguments: dict[str, Any], token: str, era: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers and JSON-RPC body of one stateless `tools/call`, in the era's shape.

    2025-11-25: a plain stateless JSON POST (no session, no protocol header). 2026-07-28: the
    modern stateless request as the SDK's client stamps it (mcp/client/session.py,
    `_make_modern_stamp`): `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` headers and
    `params._meta` with the protocol version, client info and client capabilities.
    """
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "Authorization": f"Bearer {token}",
        "User-Agent": USER_AGENT,
    }
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    if era == MODERN:
        headers |= {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": tool}
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": {"name": "gatehouse-bench", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    elif era != LEGACY:
        raise ValueError(f"unknown era {era!r}")
    return headers, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


def lua_script(headers: dict[str, str], body: dict[str, Any]) -> str:
    def quoted(text: str) -> str:
        return json.dumps(text)  # a JSON string literal is a valid Lua string literal for ASCII text

    lines = ['wrk.method = "POST"', f"wrk.body = {quoted(json.dumps(body, separators=(',', ':')))}"]
    lines += [f"wrk.headers[{quoted(name)}] = {quoted(value)}" for name, value in headers.items()]
    return "\n".join(lines) + "\n"


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx responses plus socket errors

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> WrkResult:
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    if not (done and rps and p50 and p99):
        raise ValueError(f"unexpected wrk output:\n{output}")
    errors = 0
    if non2xx := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(non2xx.group(1))
    if sockets := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        errors += sum(int(n) for n in sockets.groups())
    return WrkResult(
        requests=int(done.group(1)),
        seconds=_ms(done.group(2) + done.group(3)) / 1000,
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        errors=errors,
    )


def wrk_binary() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    return path


def run(url: str, script: Path, *, connections: int, seconds: int, timeout_s: int = 10) -> WrkResult:
    """One wrk run: one thread (the client must leave the 2 cores to the server), `connections`."""
    command = [
        wrk_binary(),
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)  # noqa: S603
    return parse(done.stdout)

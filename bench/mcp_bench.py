"""Per-call cost of `tools/call whoami`: Gatehouse's full stack vs a bare mcp SDK server.

    .venv/bin/python -m bench.mcp_bench [--calls 300] [--runs 5] [--warmup 30]

Starts both servers on loopback (one uvicorn worker each; Gatehouse on a fresh SQLite database,
migrated and seeded, called with the demo API key), then, for each run, sends `calls` sequential
POSTs per target over one keep-alive connection, targets interleaved so that background noise hits
them alike. Reports the median per-call latency over the runs. Targets:

- bare ping / bare whoami: the SDK alone, same result shape, no auth (bench/bare_server.py);
- gatehouse ping: our router, the gateway's checks, token resolution (one query) and rate limits;
- gatehouse whoami: the same plus the tool wrapper, its audit event (INSERT) and the sealing after commit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
GATEHOUSE_PORT, BARE_PORT = 8302, 8303
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
WHOAMI = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@contextmanager
def server(app: str, port: int, env: dict[str, str]) -> Iterator[str]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", f"--port={port}", "--no-access-log"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(url, json={}, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{app} did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def gatehouse_env(database: Path) -> tuple[dict[str, str], str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PUBLIC_URL": f"http://127.0.0.1:{GATEHOUSE_PORT}",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-bench-only-secret-key-bench-only",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        # The benchmark measures cost, not the limiter's refusal.
        "MCP_RATE_LIMIT_PER_CREDENTIAL": "1000000/min",
        "MCP_RATE_LIMIT_PER_ORG": "1000000/min",
    }
    env.pop("REDIS_URL", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603
    seeded = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [*manage, "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    key = re.search(r"sk-[0-9A-Za-z]{40,}", seeded.stdout)
    if key is None:
        raise RuntimeError("seed_demo printed no key")
    return env, key.group(0)


def per_call_ms(client: httpx.Client, url: str, body: dict[str, object], calls: int) -> float:
    payload = json.dumps(body).encode()
    start = time.perf_counter()
    for _ in range(calls):
        response = client.post(url, content=payload)
        if response.status_code != 200 or "error" in response.json():
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
    return (time.perf_counter() - start) / calls * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300, help="sequential calls per target and run")
    parser.add_argument("--runs", type=int, default=5, help="runs (the median is reported)")
    parser.add_argument("--warmup", type=int, default=30, help="calls per target before measuring")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env, key = gatehouse_env(Path(tmp) / "bench.sqlite3")
        bare_env = {**env, "LOG_LEVEL": "WARNING"}
        with (
            server("config.asgi:application", GATEHOUSE_PORT, env) as ours,
            server("bench.bare_server:app", BARE_PORT, bare_env) as bare,
        ):
            auth = {"Authorization": f"Bearer {key}"}
            targets = {
                "bare ping (SDK only)": (bare, PING, {}),
                "gatehouse ping (gateway + auth)": (ours, PING, auth),
                "bare whoami (SDK only)": (bare, WHOAMI, {}),
                "gatehouse whoami (gateway + auth + tool + audit)": (ours, WHOAMI, auth),
            }
            clients = {
                name: httpx.Client(headers={**HEADERS, **extra}) for name, (_, _, extra) in targets.items()
            }
            for name, (url, body, _) in targets.items():
                per_call_ms(clients[name], url, body, args.warmup)
            results: dict[str, list[float]] = {name: [] for name in targets}
            for _ in range(args.runs):
                for name, (url, body, _) in targets.items():
                    results[name].append(per_call_ms(clients[name], url, body, args.calls))
            for client in clients.values():
                client.close()

    base = statistics.median(results["bare whoami (SDK only)"])
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
    print(f"{args.runs} runs x {args.calls} sequential calls per target after {args.warmup} warm-up calls")
    print("one uvicorn worker per server, keep-alive, loopback; Gatehouse on SQLite\n")
    print("| Target | median ms/call | calls/s | vs bare | runs (ms/call) |")
    print("|---|---|---|---|---|")
    for name, values in results.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"| {name} | {median:.2f} | {1000 / median:.0f} | {median / base:.2f}x | {runs} |")


if __name__ == "__main__":
    main()

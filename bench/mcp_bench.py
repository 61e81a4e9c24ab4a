"""Per-call cost of `tools/call whoami`: Gatehouse's full stack vs a bare mcp SDK server.

    .venv/bin/python -m bench.mcp_bench [--calls 300] [--runs 5] [--warmup 30] [--baseline DIR]

Starts both servers on loopback (one uvicorn worker each; Gatehouse on a fresh SQLite database,
migrated and seeded, called with the demo API key), then, for each run, sends `calls` sequential
POSTs per target over one keep-alive connection, targets interleaved so that background noise hits
them alike. Reports the median per-call latency over the runs. Targets:

- bare ping / bare whoami: the SDK alone, same result shape, no auth (bench/bare_server.py);
- gatehouse ping: our router, the gateway's checks, token resolution (one query) and rate limits;
- gatehouse whoami: the same plus the tool wrapper and its audit event (INSERT; sealed in the background);
- with `--baseline DIR` (another checkout, e.g. `git archive HEAD | tar -x -C /tmp/base`): the same two
  Gatehouse targets served from that tree, interleaved with the others, for before/after comparisons.
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
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
GATEHOUSE_PORT, BARE_PORT, BASELINE_PORT = 8302, 8303, 8304
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
WHOAMI = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@contextmanager
def server(app: str, port: int, env: dict[str, str], root: Path = ROOT) -> Iterator[str]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", f"--port={port}", "--no-access-log"],
        cwd=root,
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


def fresh_postgres(url: str) -> str:
    """(Re)create the PostgreSQL database `url` names; returns the URL."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def gatehouse_env(
    database: Path | str, *, root: Path = ROOT, port: int = GATEHOUSE_PORT
) -> tuple[dict[str, str], str]:
    env = {
        **os.environ,
        "DATABASE_URL": database if isinstance(database, str) else f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
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
    subprocess.run([*manage, "migrate", "--noinput"], cwd=root, env=env, check=True, capture_output=True)  # noqa: S603
    seeded = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [*manage, "seed_demo"], cwd=root, env=env, check=True, capture_output=True, text=True
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
    parser.add_argument("--baseline", type=Path, help="another source tree to serve and measure alongside")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="a PostgreSQL database to drop, recreate and serve from (the baseline: URL_baseline)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        database = fresh_postgres(args.postgres) if args.postgres else Path(tmp) / "bench.sqlite3"
        env, key = gatehouse_env(database)
        bare_env = {**env, "LOG_LEVEL": "WARNING"}
        ours = stack.enter_context(server("config.asgi:application", GATEHOUSE_PORT, env))
        bare = stack.enter_context(server("bench.bare_server:app", BARE_PORT, bare_env))
        auth = {"Authorization": f"Bearer {key}"}
        targets = {
            "bare ping (SDK only)": (bare, PING, {}),
            "gatehouse ping (gateway + auth)": (ours, PING, auth),
            "bare whoami (SDK only)": (bare, WHOAMI, {}),
            "gatehouse whoami (gateway + auth + tool + audit)": (ours, WHOAMI, auth),
        }
        if args.baseline is not None:
            root = args.baseline.resolve()
            base_database = (
                fresh_postgres(f"{args.postgres}_baseline")
                if args.postgres
                else Path(tmp) / "baseline.sqlite3"
            )
            base_env, base_key = gatehouse_env(base_database, root=root, port=BASELINE_PORT)
            baseline = stack.enter_context(server("config.asgi:application", BASELINE_PORT, base_env, root))
            base_auth = {"Authorization": f"Bearer {base_key}"}
            targets["baseline ping"] = (baseline, PING, base_auth)
            targets["baseline whoami"] = (baseline, WHOAMI, base_auth)
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

    database_name = "PostgreSQL" if args.postgres else "SQLite"
    base = statistics.median(results["bare whoami (SDK only)"])
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
    print(f"{args.runs} runs x {args.calls} sequential calls per target after {args.warmup} warm-up calls")
    print(f"one uvicorn worker per server, keep-alive, loopback; Gatehouse on {database_name}\n")
    print("| Target | median ms/call | calls/s | vs bare | runs (ms/call) |")
    print("|---|---|---|---|---|")
    for name, values in results.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"| {name} | {median:.2f} | {1000 / median:.0f} | {median / base:.2f}x | {runs} |")


if __name__ == "__main__":
    main()

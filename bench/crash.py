"""Stop Gatehouse under load and count the acknowledged MCP calls whose audit event is missing.

    .venv/bin/python -m bench.crash [--db sqlite|postgres] [--runs 5] [--seconds 4] [--json out.json]

Reads' audit events wait in memory for up to `MCP_AUDIT_SEAL_INTERVAL` (0.1 s) before they are
written (accounts/audit/journal.py). For each run: a fresh database (migrated, seeded, prepared as
bench/run.py prepares it), one uvicorn worker, wrk sending `whoami` with the `sk-` key at
concurrency 16; after `--seconds` the worker gets SIGTERM (a graceful shutdown: the journal is
flushed before the server exits, so nothing may be missing) or SIGKILL (a crash: what was in
memory is gone). Then: acknowledged = the 2xx responses wrk received, recorded = the new
`mcp.tool_called` events in the database, missing = acknowledged - recorded, and `manage.py
audit_verify` must pass. Runs alternate SIGTERM and SIGKILL.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench import wrk
from bench.run import ROOT, database, gatehouse_env, prepare, uvicorn
from tests.support.servers import free_port

COUNT_SQL = "SELECT count(*) FROM accounts_auditevent WHERE action = 'mcp.tool_called'"


def recorded(database_url: str) -> int:
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return int(conn.execute(COUNT_SQL).fetchone()[0])
    with psycopg.connect(database_url) as conn:
        row = conn.execute(COUNT_SQL).fetchone()
        assert row is not None
        return int(row[0])


def one_run(vendor: str, sig: signal.Signals, seconds: float, tmp: Path) -> dict[str, Any]:
    with database(vendor, f"crash{int(time.time() * 1000)}", tmp) as url:
        port = free_port()
        env = gatehouse_env(url, port, audit_dir=Path(tempfile.mkdtemp(dir=tmp)))
        prep = prepare(env, tmp / "prepare.json")
        headers, body = wrk.request(tool="whoami", arguments={}, token=prep["sk"], era=wrk.LEGACY)
        script = tmp / "whoami.lua"
        script.write_text(wrk.lua_script(headers, body))
        with uvicorn("gatehouse", "config.asgi:application", env, port) as server:
            before = recorded(url)
            load = subprocess.Popen(  # noqa: S603
                [wrk.wrk_binary(), "-t1", "-c16", f"-d{int(seconds) + 3}s", "-s", str(script), server.url],
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(seconds)
            server.process.send_signal(sig)
            server.process.wait(timeout=60)
            output, _ = load.communicate(timeout=60)
        done = re.search(r"(\d+) requests in", output)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        acknowledged = int(done.group(1) if done else 0) - int(non2xx.group(1) if non2xx else 0)
        written = recorded(url) - before
        verify = subprocess.run(
            [sys.executable, "manage.py", "audit_verify"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        return {
            "database": vendor,
            "signal": sig.name,
            "acknowledged": acknowledged,
            "recorded": written,
            "missing": acknowledged - written,
            "audit_verify_ok": verify.returncode == 0,
            "audit_verify": (verify.stdout + verify.stderr).strip()[-500:],
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as directory:
        for index in range(args.runs):
            sig = signal.SIGTERM if index % 2 == 0 else signal.SIGKILL
            result = one_run(args.db, sig, args.seconds, Path(directory))
            runs.append(result)
            print(
                f"{result['database']:8} {result['signal']:7} acknowledged {result['acknowledged']:6}  "
                f"recorded {result['recorded']:6}  missing {result['missing']:5}  "
                f"audit_verify {'ok' if result['audit_verify_ok'] else 'FAILED: ' + result['audit_verify']}",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()

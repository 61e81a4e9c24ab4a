"""What row-level security costs the MCP endpoint: CPU per call and latency, in-process, on PostgreSQL.

    .venv/bin/python -m bench.rls [--calls 1000] [--rounds 2] [--targets whoami-sk,list_projects,…]

CPU per call is the process's (every thread), not PostgreSQL's, whose server evaluates the policies.
One throwaway database (`gatehouse_bench_rls`, dropped afterwards), prepared once as bench/profile.py
does it; then, interleaved for `--rounds` rounds, bench/profile.py run twice on it:

- `owner`: logged in as the tables' owner (a superuser here), which the policies do not bind; each
  transaction still sends its scope's `set_config` statement;
- `rls`: every scope `SET LOCAL ROLE gatehouse_bench_rls_app` (DATABASE_APP_ROLE), a role made by
  `manage.py grant_app_role`, which the policies bind: what production with two roles evaluates.

The code before row-level security (git 64bc590) is measured with bench/profile.py in its own
checkout; BENCHMARKS.md has the three side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.run import POSTGRES

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "gatehouse_bench_rls"
ROLE = "gatehouse_bench_rls_app"


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _profile(args: argparse.Namespace, workdir: Path, out: Path, **env: str) -> dict[str, dict[str, float]]:
    command = [
        sys.executable, "-m", "bench.profile", "--db", "postgres", "--database-url", f"{POSTGRES}/{DATABASE}",
        "--workdir", str(workdir), "--calls", str(args.calls), "--repeat", "1", "--targets", args.targets,
        "--json", str(out),
    ]  # fmt: skip
    subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, check=True, timeout=1800)  # noqa: S603
    return {row["target"]: row for row in json.loads(out.read_text())["results"]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--targets", default="whoami-sk,list_projects,get_document,create_document")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="gh-rls-"))
    _psql(f"DROP DATABASE IF EXISTS {DATABASE}")
    _psql(f"CREATE DATABASE {DATABASE}")
    try:
        runs: dict[str, list[dict[str, dict[str, float]]]] = {"owner": [], "rls": []}
        runs["owner"].append(_profile(args, workdir, workdir / "owner-0.json"))  # prepares the database
        subprocess.run(  # noqa: S603 - our own interpreter and command
            [sys.executable, "manage.py", "grant_app_role", ROLE, "--create"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": f"{POSTGRES}/{DATABASE}"},
            check=True,
            timeout=120,
        )
        for n in range(args.rounds):
            runs["rls"].append(_profile(args, workdir, workdir / f"rls-{n}.json", DATABASE_APP_ROLE=ROLE))
            if n + 1 < args.rounds:
                runs["owner"].append(_profile(args, workdir, workdir / f"owner-{n + 1}.json"))
        print(
            "| target | owner: CPU µs/call | RLS: CPU µs/call | owner: event loop µs | RLS: event loop µs |"
        )
        print("|---|---|---|---|---|")
        for target in args.targets.split(","):

            def median(kind: str, field: str, target: str = target) -> float:
                return statistics.median(run[target][field] for run in runs[kind])

            print(
                f"| {target} | {median('owner', 'cpu_us'):,.0f} | {median('rls', 'cpu_us'):,.0f} "
                f"| {median('owner', 'loop_us'):,.0f} | {median('rls', 'loop_us'):,.0f} |"
            )
    finally:
        _psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()

"""Gatehouse's MCP endpoint vs a bare mcp SDK server, side by side, measured with wrk.

    .venv/bin/python -m bench.run [--db sqlite|postgres|both] [--rounds 5] [--duration 3]
        [--targets whoami,tools,scale,soak] [--json out.json]

The default (both databases; whoami, tools and scale; 5 rounds of 3 s) takes ~17 minutes on the
2-core machine. The soak is not in the default: 100,000 calls at Gatehouse's ~100 req/s take ~17
minutes on their own (`--db sqlite --targets soak`).

For each database (SQLite file, or a PostgreSQL 15 database `gatehouse_bench_*` created and dropped
here), on loopback, one uvicorn worker per server, the same flags for all (`--http httptools
--loop uvloop --no-access-log`):

- Gatehouse (`config.asgi:application`), migrated and seeded (`seed_demo`, then bench/prepare.py:
  an `sk-` key and a `wat_` OAuth token with every scope, mirror organizations for the bare server,
  and the SQL of each benchmarked tool captured from Gatehouse itself); rate limits raised out of the
  way (`MCP_RATE_LIMIT_PER_CREDENTIAL` / `MCP_RATE_LIMIT_PER_ORG` = 1000000000/min), `DEBUG=0`, no Redis;
- the reference, bench/bare_server.py: a bare `MCPServer` with a static-token verifier and the SDK's
  auth middleware on, `whoami` with the same result shape, and the read/write tools replaying the
  captured SQL with sqlite3 / psycopg in a worker thread, on the same database.

Groups of targets (`--targets`, comma-separated):

- `whoami`: bare, Gatehouse with the `sk-` key, Gatehouse with the `wat_` token; concurrency 1 and
  16; eras 2025-11-25 (plain stateless JSON POST) and 2026-07-28 (modern stateless request);
- `tools`: `list_projects`, `get_document`, `search_documents`, `create_document`, Gatehouse (`sk-`)
  vs bare, concurrency 16, era 2025-11-25;
- `scale`: two more Gatehouse servers whose demo organization holds 100 and 100,000 API keys and
  OAuth access tokens: `whoami` with `sk-` and `wat_`, concurrency 16, `--scale-rounds` rounds;
- `soak` (only when asked for): 100,000 `whoami` calls (`sk-`, concurrency 16, 2025-11-25) against
  the Gatehouse process, after the rounds if any, its RSS read every ~10,000 calls (one wrk run per
  chunk); first database only unless `--soak-db`.

Method: a warm-up wrk run per target, then `--rounds` rounds; every round runs every target once
for `--duration` seconds (wrk, 1 thread), in an order rotated from round to round, so background
noise hits all targets alike. Per run: requests/s and p50/p99 from wrk's `--latency` output, and
CPU per call: the server process's utime+stime (/proc/PID/stat, children excluded) over the run
(+0.3 s for work finishing after it, such as Gatehouse's background audit sealing) divided by the
requests wrk completed. Reported: the median over rounds of each figure, and ratios to the bare
reference of the same concurrency and era (throughput: gatehouse/bare, below 1 is slower; CPU per
call: gatehouse/bare, above 1 is more expensive).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import wrk
from bench.wrk import LEGACY, MODERN
from tests.support.servers import free_port, migrate_and_seed

ROOT = Path(__file__).resolve().parents[1]
UVICORN_FLAGS = ["--http", "httptools", "--loop", "uvloop", "--no-access-log", "--lifespan", "on"]
RATE_LIMIT = "1000000000/min"
BARE_TOKEN = "bare-static-token-for-the-benchmark"  # noqa: S105 - loopback-only reference server
POSTGRES = "postgres://postgres@127.0.0.1:5432"
SETTLE_S = 0.3
TICKS = os.sysconf("SC_CLK_TCK")
TOOLS = ("list_projects", "get_document", "search_documents", "create_document")


# Processes -----------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    url: str  # http://127.0.0.1:PORT/mcp
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def uvicorn(name: str, app: str, env: dict[str, str], port: int) -> Iterator[Server]:
    """`python -m uvicorn APP` with the benchmark's flags, one worker (this very process)."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *UVICORN_FLAGS,
    ]
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)  # noqa: S603
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        stderr.seek(0)
                        raise RuntimeError(
                            f"{name} did not start: {stderr.read().decode()[-3000:]}"
                        ) from None
                    time.sleep(0.2)
            yield Server(name=name, url=f"http://127.0.0.1:{port}/mcp", process=process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process itself (not its children), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # fields 14 and 15 of proc(5)


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


# Databases -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(vendor: str, label: str, tmp: Path) -> Iterator[str]:
    """A fresh, empty database; its DATABASE_URL. PostgreSQL databases are dropped afterwards."""
    if vendor == "sqlite":
        yield f"sqlite:///{tmp / f'{label}.sqlite3'}"
        return
    import psycopg

    name = f"gatehouse_bench_{os.getpid()}_{label}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def gatehouse_env(database_url: str, port: int, *, audit_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-bench-only-secret-key-bench-only",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "EMAIL_URL": "consolemail://",  # DEBUG=0 wants a mail server named; no mail is sent here
        # Plain HTTP on loopback; in production TLS ends at the proxy (SECURE_PROXY=1).
        "SECURE_SSL_REDIRECT": "0",
        # The benchmark measures cost, not the limiter's refusals: limits far above any rate here.
        "MCP_RATE_LIMIT_PER_CREDENTIAL": RATE_LIMIT,
        "MCP_RATE_LIMIT_PER_ORG": RATE_LIMIT,
        "PYTHONPATH": str(ROOT),
        # The run's own signed checkpoints: not the development server's var/audit.
        "AUDIT_CHECKPOINT_DIR": str(audit_dir),
    }
    env.pop("REDIS_URL", None)  # the default deployment: per-process memory cache for rate limits
    return env


def prepare(env: dict[str, str], out: Path, *, credentials: int = 0, capture: bool = False) -> dict[str, Any]:
    migrate_and_seed(env, root=ROOT)
    command = [sys.executable, "-m", "bench.prepare", "--out", str(out), "--credentials", str(credentials)]
    subprocess.run([*command, *(["--capture"] if capture else [])], cwd=ROOT, env=env, check=True)  # noqa: S603
    with open(out) as f:
        result: dict[str, Any] = json.load(f)
    return result


# Targets ---------------------------------------------------------------------------------------------


@dataclass
class Target:
    group: str  # whoami, tools, scale
    system: str  # bare, gatehouse
    credential: str  # static, sk, wat
    tool: str
    era: str
    concurrency: int
    server: Server
    token: str
    arguments: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # extra words for the name (the scale suite's credential count)
    script: Path | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        who = "bare" if self.system == "bare" else f"gatehouse {self.credential}"
        return " ".join(filter(None, [self.tool, who, self.label, f"c{self.concurrency}", self.era]))

    def write_script(self, directory: Path) -> None:
        headers, body = wrk.request(tool=self.tool, arguments=self.arguments, token=self.token, era=self.era)
        self.script = directory / (self.name.replace(" ", "_").replace(":", "") + ".lua")
        self.script.write_text(wrk.lua_script(headers, body))

    def check(self) -> dict[str, Any]:
        """One call outside wrk: must be 200 with a tool result that is not an error."""
        headers, body = wrk.request(tool=self.tool, arguments=self.arguments, token=self.token, era=self.era)
        request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 URL
            self.server.url, data=json.dumps(body).encode(), headers=headers
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            reply = json.loads(response.read())
        result = reply.get("result")
        if not isinstance(result, dict) or result.get("isError") or "structuredContent" not in result:
            raise RuntimeError(f"{self.name}: unexpected reply {json.dumps(reply)[:500]}")
        structured: dict[str, Any] = result["structuredContent"]
        expected = {"sk": "api_key", "wat": "oauth"}.get(self.credential)
        if self.tool == "whoami" and expected and structured.get("credential_kind") != expected:
            raise RuntimeError(
                f"{self.name}: acts as {structured.get('credential_kind')!r}, not {expected!r}"
            )
        return structured

    def measure(self, seconds: int) -> dict[str, Any]:
        assert self.script is not None
        pid = self.server.pid
        before = cpu_seconds(pid)
        outcome = wrk.run(self.server.url, self.script, connections=self.concurrency, seconds=seconds)
        time.sleep(SETTLE_S)
        cpu = cpu_seconds(pid) - before
        return {
            **outcome.as_dict(),
            "cpu_s": round(cpu, 3),
            "cpu_ms_per_call": round(cpu * 1000 / outcome.requests, 4) if outcome.requests else math.nan,
        }

    def summary(self) -> dict[str, Any]:
        def median(key: str) -> float:
            return float(statistics.median(run[key] for run in self.runs))

        return {
            "name": self.name,
            "group": self.group,
            "system": self.system,
            "credential": self.credential,
            "tool": self.tool,
            "era": self.era,
            "concurrency": self.concurrency,
            "label": self.label,
            "rps": median("rps"),
            "p50_ms": median("p50_ms"),
            "p99_ms": median("p99_ms"),
            "cpu_ms_per_call": median("cpu_ms_per_call"),
            "rps_min": min(run["rps"] for run in self.runs),
            "rps_max": max(run["rps"] for run in self.runs),
            "errors": sum(run["errors"] for run in self.runs),
            "runs": self.runs,
        }


def run_rounds(targets: list[Target], *, rounds: int, seconds: int, warmup: int, log: Any) -> None:
    for target in targets:
        target.check()
        target.measure(warmup)
    for r in range(rounds):
        shift = r % len(targets)
        for target in targets[shift:] + targets[:shift]:
            target.runs.append(target.measure(seconds))
            run = target.runs[-1]
            log(
                f"  round {r + 1}/{rounds}  {target.name:<48} {run['rps']:8.1f} req/s  "
                f"p50 {run['p50_ms']:7.2f} ms  p99 {run['p99_ms']:7.2f} ms  "
                f"{run['cpu_ms_per_call']:6.3f} CPU ms/call"
                + (f"  ERRORS {run['errors']}" if run["errors"] else "")
            )


def soak(target: Target, *, calls: int, every: int, log: Any) -> dict[str, Any]:
    """`calls` more calls in chunks of ~`every` (each one wrk run), RSS read after each chunk."""
    assert target.script is not None
    pid = target.server.pid
    samples = [{"calls": 0, "rss": rss_bytes(pid)}]
    done = 0
    rate = max(50.0, statistics.median(run["rps"] for run in target.runs) if target.runs else 200.0)
    started = time.monotonic()
    for _ in range(math.ceil(calls / every) * 3):  # bounded even if the server slows down a lot
        if done >= calls:
            break
        seconds = max(1, round(min(every, calls - done) / rate))
        outcome = wrk.run(target.server.url, target.script, connections=target.concurrency, seconds=seconds)
        done += outcome.requests
        rate = max(50.0, outcome.rps)
        samples.append({"calls": done, "rss": rss_bytes(pid), "errors": outcome.errors})
        log(f"  soak {done:>7} calls  RSS {samples[-1]['rss'] / 2**20:7.1f} MiB  {outcome.rps:7.1f} req/s")
    rss = [s["rss"] for s in samples]
    after_first = samples[1] if len(samples) > 1 else samples[0]
    return {
        "target": target.name,
        "calls": done,
        "seconds": round(time.monotonic() - started, 1),
        "samples": samples,
        "rss_first": rss[0],
        "rss_last": rss[-1],
        "rss_max": max(rss),
        "bytes_per_call": (rss[-1] - rss[0]) / done if done else math.nan,
        # Growth after the first chunk: caches and pools filled by then.
        "bytes_per_call_after_first_chunk": (
            (rss[-1] - after_first["rss"]) / (done - after_first["calls"])
            if done > after_first["calls"]
            else math.nan
        ),
        "errors": sum(s.get("errors", 0) for s in samples),
    }


# One database ----------------------------------------------------------------------------------------


def main_suite(vendor: str, args: argparse.Namespace, tmp: Path, log: Any) -> dict[str, Any]:
    groups = set(args.targets)
    report: dict[str, Any] = {"database": vendor}
    with database(vendor, "main", tmp) as url:
        gh_port, bare_port = free_port(), free_port()
        env = gatehouse_env(url, gh_port, audit_dir=tmp / f"audit-{vendor}")
        prep_file = tmp / f"prepare-{vendor}.json"
        log(f"[{vendor}] migrating, seeding, capturing the tools' SQL")
        prep = prepare(env, prep_file, capture="tools" in groups)
        report["captured_sql"] = {"auth": prep.get("auth_sql"), "tools": prep.get("recipes")}
        bare_env = {
            **env,
            "BENCH_BARE_TOKEN": BARE_TOKEN,
            "BENCH_BARE_URL": f"http://127.0.0.1:{bare_port}",
            **({"BENCH_RECIPES": str(prep_file), "BENCH_DATABASE_URL": url} if "tools" in groups else {}),
        }
        with (
            uvicorn("gatehouse", "config.asgi:application", env, gh_port) as gatehouse,
            uvicorn("bare", "bench.bare_server:app", bare_env, bare_port) as bare,
        ):
            targets: list[Target] = []
            if "whoami" in groups:
                for era in (LEGACY, MODERN):
                    for concurrency in args.concurrency:
                        targets += [
                            Target("whoami", "bare", "static", "whoami", era, concurrency, bare, BARE_TOKEN),
                            Target(
                                "whoami", "gatehouse", "sk", "whoami", era, concurrency, gatehouse, prep["sk"]
                            ),
                            Target(
                                "whoami",
                                "gatehouse",
                                "wat",
                                "whoami",
                                era,
                                concurrency,
                                gatehouse,
                                prep["wat"],
                            ),
                        ]
            if "tools" in groups:
                arguments = {
                    "list_projects": {},
                    "get_document": {"document": prep["document"]},
                    "search_documents": {"query": "welcome"},
                    "create_document": {
                        "project": "inbox",
                        "title": "Benchmark note",
                        "body": "Written by bench/run.py.",
                    },
                }
                for tool in TOOLS:
                    key = prep["sk_writes"] if tool == "create_document" else prep["sk"]
                    targets += [
                        Target(
                            "tools", "bare", "static", tool, LEGACY, 16, bare, BARE_TOKEN, arguments[tool]
                        ),
                        Target("tools", "gatehouse", "sk", tool, LEGACY, 16, gatehouse, key, arguments[tool]),
                    ]
            for target in targets:
                target.write_script(tmp)
            if targets:
                log(f"[{vendor}] {len(targets)} targets x {args.rounds} rounds x {args.duration} s")
                run_rounds(targets, rounds=args.rounds, seconds=args.duration, warmup=args.warmup, log=log)
            report["targets"] = [t.summary() for t in targets]
            report["rss_after_rounds"] = {"gatehouse": rss_bytes(gatehouse.pid), "bare": rss_bytes(bare.pid)}
            if "soak" in groups and vendor == args.soak_db:
                soaked = Target("soak", "gatehouse", "sk", "whoami", LEGACY, 16, gatehouse, prep["sk"])
                soaked.runs = [t.runs[-1] for t in targets if t.name == soaked.name and t.runs]
                soaked.write_script(tmp)
                soaked.check()
                log(f"[{vendor}] soak: {args.soak_calls} whoami calls")
                report["soak"] = soak(soaked, calls=args.soak_calls, every=args.soak_every, log=log)
    if "scale" in groups:
        report["scale"] = scale_suite(vendor, args, tmp, log)
    return report


def scale_suite(vendor: str, args: argparse.Namespace, tmp: Path, log: Any) -> list[dict[str, Any]]:
    """Gatehouse whoami with 100 vs 100,000 keys and tokens, each count in its own database/server."""
    with contextlib.ExitStack() as stack:
        targets: list[Target] = []
        for count in args.scale:
            url = stack.enter_context(database(vendor, f"keys{count}", tmp))
            port = free_port()
            env = gatehouse_env(url, port, audit_dir=tmp / f"audit-{vendor}-{count}")
            log(f"[{vendor}] seeding {count} API keys and {count} OAuth tokens")
            started = time.monotonic()
            prep = prepare(env, tmp / f"prepare-{vendor}-{count}.json", credentials=count)
            log(f"[{vendor}]   {prep['counts']} in {time.monotonic() - started:.0f} s")
            server = stack.enter_context(uvicorn(f"gatehouse-{count}", "config.asgi:application", env, port))
            label = f"{count:,} creds"
            targets += [
                Target("scale", "gatehouse", "sk", "whoami", LEGACY, 16, server, prep["sk"], label=label),
                Target("scale", "gatehouse", "wat", "whoami", LEGACY, 16, server, prep["wat"], label=label),
            ]
        for target in targets:
            target.write_script(tmp)
        log(f"[{vendor}] scale: {len(targets)} targets x {args.scale_rounds} rounds x {args.duration} s")
        run_rounds(targets, rounds=args.scale_rounds, seconds=args.duration, warmup=args.warmup, log=log)
        return [t.summary() for t in targets]


# Report --------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    versions = {
        name: importlib.metadata.version(name)
        for name in ("mcp", "uvicorn", "Django", "uvloop", "httptools", "psycopg", "pydantic", "starlette")
    }
    wrk_version = subprocess.run([wrk.wrk_binary(), "--version"], capture_output=True, text=True).stdout  # noqa: S603
    try:
        import psycopg

        with psycopg.connect(f"{POSTGRES}/postgres", connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            postgres = row[0] if row else "?"
    except Exception:  # no server: only SQLite can be benchmarked
        postgres = "unavailable"
    return {
        "nproc": os.cpu_count(),
        "postgresql": postgres,
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "wrk": wrk_version.split("[")[0].strip() or "?",
        **versions,
    }


def table(report: dict[str, Any]) -> str:
    targets = report.get("targets", []) + report.get("scale", [])
    bare = {(t["tool"], t["era"], t["concurrency"]): t for t in targets if t["system"] == "bare"}
    lines = [f"### {report['database']}", ""]
    if targets:
        lines += [
            "| target | conc | era | req/s (min-max) | p50 ms | p99 ms | CPU ms/call | req/s vs bare "
            "| CPU vs bare |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
    for t in targets:
        # The scale group has no reference of its own: its two counts are compared with each other.
        ref = bare.get((t["tool"], t["era"], t["concurrency"])) if t["group"] != "scale" else None
        if t["system"] == "bare" or ref is None:
            ratio_rps = ratio_cpu = "1.00" if t["system"] == "bare" else ""
        else:
            ratio_rps = f"{t['rps'] / ref['rps']:.2f}"
            ratio_cpu = f"{t['cpu_ms_per_call'] / ref['cpu_ms_per_call']:.2f}"
        who = "bare" if t["system"] == "bare" else f"gatehouse {t['credential']}"
        name = " ".join(filter(None, [t["tool"], who, t["label"]]))
        flag = f" ({t['errors']} errors)" if t["errors"] else ""
        lines.append(
            f"| {name}{flag} | {t['concurrency']} | {t['era']} | "
            f"{t['rps']:.0f} ({t['rps_min']:.0f}-{t['rps_max']:.0f}) | {t['p50_ms']:.2f} | "
            f"{t['p99_ms']:.2f} | {t['cpu_ms_per_call']:.2f} | {ratio_rps} | {ratio_cpu} |"
        )
    scale = report.get("scale") or []
    by = {(t["credential"], t["label"]): t for t in scale}
    labels = sorted({t["label"] for t in scale}, key=lambda s: int(s.split()[0].replace(",", "")))
    if len(labels) == 2:
        lines += ["", f"Token resolution, {labels[1]} vs {labels[0]} (whoami, c16):"]
        for credential in ("sk", "wat"):
            small, big = by.get((credential, labels[0])), by.get((credential, labels[1]))
            if small and big:
                lines.append(
                    f"- {credential}: req/s x{big['rps'] / small['rps']:.2f}, "
                    f"p50 {small['p50_ms']:.2f} → {big['p50_ms']:.2f} ms, "
                    f"p99 {small['p99_ms']:.2f} → {big['p99_ms']:.2f} ms"
                )
    if soaked := report.get("soak"):
        mib = 2**20
        lines += [
            "",
            f"Soak ({soaked['target']}, {soaked['calls']:,} calls in {soaked['seconds']} s): RSS first "
            f"{soaked['rss_first'] / mib:.1f} MiB, last {soaked['rss_last'] / mib:.1f} MiB, max "
            f"{soaked['rss_max'] / mib:.1f} MiB; growth {soaked['bytes_per_call']:.1f} bytes/call "
            f"({soaked['bytes_per_call_after_first_chunk']:.1f} after the first ~10k calls)",
            "RSS samples (calls: MiB): "
            + ", ".join(f"{s['calls']:,}: {s['rss'] / mib:.1f}" for s in soaked["samples"]),
        ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per target (default 1)")
    parser.add_argument(
        "--targets",
        type=lambda s: [part.strip() for part in s.split(",") if part.strip()],
        default=["whoami", "tools", "scale"],
        help="comma-separated groups: whoami, tools, scale, soak (default: whoami,tools,scale)",
    )
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(part) for part in s.split(",")],
        default=[1, 16],
        help="wrk connections for the whoami group (default 1,16)",
    )
    parser.add_argument("--soak-calls", type=int, default=100_000)
    parser.add_argument("--soak-every", type=int, default=10_000, help="calls between RSS samples")
    parser.add_argument("--soak-db", choices=("sqlite", "postgres"), help="default: the first database")
    parser.add_argument(
        "--scale",
        type=lambda s: [int(part) for part in s.split(",")],
        default=[100, 100_000],
        help="credential counts to compare (default 100,100000)",
    )
    parser.add_argument("--scale-rounds", type=int, default=3, help="rounds of the scale group (default 3)")
    parser.add_argument("--json", type=Path, help="write every run and the captured SQL here")
    parser.add_argument("--report", type=Path, help="print the tables of a saved --json file and exit")
    args = parser.parse_args(argv)
    unknown = set(args.targets) - {"whoami", "tools", "soak", "scale"}
    if unknown:
        parser.error(f"unknown target groups: {sorted(unknown)}")
    args.vendors = (
        ["sqlite", "postgresql"]
        if args.db == "both"
        else ["postgresql" if args.db == "postgres" else "sqlite"]
    )
    args.soak_db = {"postgres": "postgresql", "sqlite": "sqlite", None: args.vendors[0]}[args.soak_db]
    return args


def print_report(result: dict[str, Any]) -> None:
    m = result["machine"]
    settings = result["settings"]
    print(
        f"\n{m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, mcp {m['mcp']}, uvicorn {m['uvicorn']}, "
        f"Django {m['Django']}, uvloop {m['uvloop']}, httptools {m['httptools']}, {m['wrk']}; "
        f"{settings['rounds']} rounds x {settings['duration_s']} s per target; medians; "
        f"{result.get('wall_s', '?')} s wall\n"
    )
    for report in result["databases"]:
        print(table(report) + "\n")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.report:
        print_report(json.loads(args.report.read_text()))
        return
    wrk.wrk_binary()
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"{time.monotonic() - started:6.0f}s {message}", file=sys.stderr, flush=True)

    result: dict[str, Any] = {
        "machine": machine(),
        "command": " ".join([Path(sys.executable).name, "-m", "bench.run", *(argv or sys.argv[1:])]),
        "settings": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "uvicorn_flags": UVICORN_FLAGS,
            "rate_limits": RATE_LIMIT,
        },
        "databases": [],
    }
    with tempfile.TemporaryDirectory(prefix="gatehouse-bench-") as tmp:
        for vendor in args.vendors:
            result["databases"].append(main_suite(vendor, args, Path(tmp), log))
            if args.json:  # after each database, so an interrupted run keeps what it measured
                args.json.write_text(json.dumps(result, indent=1))
    result["wall_s"] = round(time.monotonic() - started)
    print_report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

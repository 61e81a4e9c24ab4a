"""CPU per MCP call, in-process: ASGI calls straight into `config.asgi.application`, no HTTP, no wrk.

    .venv/bin/python -m bench.profile --db sqlite|postgres [--calls 2000] [--concurrency 1]
        [--targets whoami-sk,whoami-wat,list_projects,get_document,search_documents,create_document]
        [--era 2025-11-25] [--workdir DIR] [--cprofile FILE] [--repeat 3]

Setup as bench/run.py does it (a fresh database migrated, seeded, then bench/prepare.py's `sk-` key,
`wat_` token and `bench-writes` organization), then the application's lifespan starts (the audit
writer runs), and each target is called `--calls` times by `--concurrency` concurrent callers after
a warm-up. Per target: the process's CPU time (every thread: the event loop, the database pool, the
audit writer; `time.process_time`) over the calls and until the audit journal is idle again, divided
by the calls, and the event loop thread's share (`time.thread_time`). The database server's own CPU
(PostgreSQL) is not counted. `--workdir` keeps the prepared database (SQLite) or its description
between runs, so that an edit can be measured again in seconds; with `--db postgres`, pass
`--database-url` of a throwaway database to reuse. `--cprofile FILE` profiles the event loop thread
only (pool threads: use `py-spy record --gil -- .venv/bin/python -m bench.profile …`).

Not a wrk run: no sockets, no uvicorn, no HTTP parsing, so it shows the application's own cost with
less noise than a throughput run on a busy machine. The median over `--repeat` runs is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import wrk
from bench.wrk import LEGACY

TARGETS = ("whoami-sk", "whoami-wat", "list_projects", "get_document", "search_documents", "create_document")


def _setup(args: argparse.Namespace) -> dict[str, Any]:
    """Prepare the database (or reuse the workdir's); set this process's environment for Django."""
    from bench.run import POSTGRES, gatehouse_env, prepare

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="gh-profile-"))
    workdir.mkdir(parents=True, exist_ok=True)
    prep_file = workdir / f"prepare-{args.db}.json"
    if args.db == "sqlite":
        url = f"sqlite:///{workdir / 'profile.sqlite3'}"
    else:
        url = args.database_url or f"{POSTGRES}/gh_perf"
    env = gatehouse_env(url, 8000, audit_dir=workdir / "audit")
    if not prep_file.exists():
        print(f"preparing {url} …", file=sys.stderr)
        prepare(env, prep_file)
    os.environ.update(env)
    with open(prep_file) as f:
        prep: dict[str, Any] = json.load(f)
    return prep


def _request(target: str, prep: dict[str, Any], era: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    tool, _, credential = target.partition("-")
    arguments: dict[str, Any] = {
        "get_document": {"document": prep["document"]},
        "search_documents": {"query": "welcome"},
        "create_document": {"project": "inbox", "title": "Benchmark note", "body": "Written by bench."},
    }.get(tool, {})
    token = prep["sk_writes"] if tool == "create_document" else prep[credential or "sk"]
    headers, body = wrk.request(tool=tool, arguments=arguments, token=token, era=era)
    headers["Host"] = "127.0.0.1:8000"
    raw = json.dumps(body, separators=(",", ":")).encode()
    headers["Content-Length"] = str(len(raw))
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()], raw


async def _call(app: Any, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    done = asyncio.Event()
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    done.set()
    return status, b"".join(chunks)


class _Lifespan:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.get_running_loop().create_task(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        message = await self.outbox.get()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(message)

    async def stop(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.outbox.get()
        if self.task is not None:
            await self.task


async def _settle(gateway: Any) -> None:
    """Until the audit writer has written what the calls left (its CPU belongs to them)."""
    journal = gateway.sealer.journal
    for _ in range(500):
        await asyncio.sleep(0.01)
        if journal.idle and not journal._writing:
            return


async def _measure(
    app: Any, gateway: Any, headers: list[tuple[bytes, bytes]], body: bytes, *, calls: int, concurrency: int
) -> tuple[float, float]:
    per_worker = max(1, calls // concurrency)

    async def worker() -> None:
        for _ in range(per_worker):
            status, reply = await _call(app, headers, body)
            if status != 200 or b'"isError":true' in reply:
                raise RuntimeError(f"{status}: {reply[:300]!r}")

    await _settle(gateway)
    cpu, loop = time.process_time(), time.thread_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await _settle(gateway)
    done = per_worker * concurrency
    return (time.process_time() - cpu) / done * 1e6, (time.thread_time() - loop) / done * 1e6


async def _main(args: argparse.Namespace, prep: dict[str, Any]) -> list[dict[str, Any]]:
    from config.asgi import application

    gateway = _gateway()
    lifespan = _Lifespan(application)
    await lifespan.start()
    results = []
    profiler = cProfile.Profile() if args.cprofile else None
    try:
        for target in args.targets:
            headers, body = _request(target, prep, args.era)
            status, reply = await _call(application, headers, body)
            if status != 200 or b'"isError":true' in reply or b"structuredContent" not in reply:
                raise RuntimeError(f"{target}: {status} {reply[:500]!r}")
            await _measure(
                application, gateway, headers, body, calls=args.warmup, concurrency=args.concurrency
            )
            runs = []
            for _ in range(args.repeat):
                if profiler is not None:
                    profiler.enable()
                runs.append(
                    await _measure(
                        application, gateway, headers, body, calls=args.calls, concurrency=args.concurrency
                    )
                )
                if profiler is not None:
                    profiler.disable()
            total = statistics.median(r[0] for r in runs)
            loop = statistics.median(r[1] for r in runs)
            results.append({"target": target, "cpu_us": round(total, 1), "loop_us": round(loop, 1)})
            print(f"{target:18} {total:8.1f} µs/call CPU  ({loop:7.1f} on the loop)", file=sys.stderr)
    finally:
        await lifespan.stop()
    if profiler is not None:
        profiler.dump_stats(args.cprofile)
    return results


def _gateway() -> Any:
    """The McpGateway inside config.asgi's router (for its audit writer's journal)."""
    from config import asgi

    cells = [c.cell_contents for c in asgi.application.__closure__ or ()]
    return next(c for c in cells if hasattr(c, "sealer"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--database-url", help="PostgreSQL: a throwaway database (default gh_perf)")
    parser.add_argument("--workdir", help="keep (and reuse) the prepared database here")
    parser.add_argument("--targets", default=",".join(TARGETS), type=lambda s: s.split(","))
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--era", default=LEGACY)
    parser.add_argument("--cprofile", help="write the event loop thread's cProfile stats here")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets: {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    prep = _setup(args)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    results = asyncio.run(_main(args, prep))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"db": args.db, "args": vars(args), "results": results}, indent=1)
        )


if __name__ == "__main__":
    main()

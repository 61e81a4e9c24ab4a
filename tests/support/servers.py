"""Gatehouse in a uvicorn subprocess on loopback, on its own SQLite file: for end-to-end tests and bench/.

Standard library only (no pytest, no Django), so that the benchmarks can start servers the same way
the tests do without depending on the test tooling.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Where each uvicorn_process() wrote its output (stdout and stderr, access log included): the test
# suite's secret detector reads them (tests/support/secret_detector.py).
SERVER_LOGS: list[Path] = []
_LOG_DIR = Path(tempfile.mkdtemp(prefix="gatehouse-servers-"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gatehouse_env(*, database: Path, port: int, **settings: str) -> dict[str, str]:
    """A Gatehouse process's environment: its SQLite file, PUBLIC_URL on its port, no Redis, `settings`."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "AUDIT_CHECKPOINT_DIR": str(database.parent / "audit"),
        "ACCESS_LOG": "1",  # whatever DEBUG says: the secret detector reads it
        **settings,
    }
    env.pop("REDIS_URL", None)
    return env


def migrate_and_seed(env: dict[str, str], *, root: Path = ROOT) -> str:
    """`manage.py migrate`, then `seed_demo`; returns what seed_demo printed (the demo API key among it)."""
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=root, env=env, check=True, capture_output=True)
    seeded = subprocess.run(
        [*manage, "seed_demo"], cwd=root, env=env, check=True, capture_output=True, text=True
    )
    return seeded.stdout


def demo_api_key(seed_output: str) -> str:
    """The demo API key (every scope of the demo organization) that `seed_demo` printed."""
    match = re.search(r"API key:\s+(sk-\S+)", seed_output)
    if match is None:
        raise RuntimeError(f"seed_demo printed no API key: {seed_output}")
    return match.group(1)


@contextmanager
def uvicorn_process(
    app: str, *, port: int, env: dict[str, str], root: Path = ROOT, timeout: float = 30
) -> Iterator[str]:
    """uvicorn serving `app` on 127.0.0.1:`port`; yields the base URL once it accepts connections."""
    command = [sys.executable, "-m", "uvicorn", app, "--host=127.0.0.1", f"--port={port}"]
    # A file, not a pipe: nobody reads the output while the server runs, and a full pipe would block it.
    log = _LOG_DIR / f"uvicorn-{port}-{len(SERVER_LOGS)}.log"
    SERVER_LOGS.append(log)
    with log.open("w+b") as stderr:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=stderr, stderr=subprocess.STDOUT)
        try:
            # uvicorn listens only once the app's lifespan startup is done.
            deadline = time.monotonic() + timeout
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        stderr.seek(0)
                        output = stderr.read().decode(errors="replace")[-2000:]
                        raise RuntimeError(f"uvicorn {app} did not start: {output}") from None
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


@dataclass(frozen=True)
class Gatehouse:
    """A running Gatehouse with the demo data: `demo_server()`."""

    url: str  # http://127.0.0.1:<port>, also its PUBLIC_URL (the OAuth issuer)
    port: int
    api_key: str  # the demo organization's key, every scope (seed_demo)

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"


@dataclass(frozen=True)
class DemoDatabase:
    """A migrated SQLite file with the demo data, and the demo API key seed_demo made in it."""

    path: Path
    api_key: str

    def copy(self, directory: Path) -> DemoDatabase:
        """A consistent copy in `directory` (SQLite's backup API, WAL included), for a server of its own."""
        target = directory / self.path.name
        with closing(sqlite3.connect(self.path)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
        return DemoDatabase(path=target, api_key=self.api_key)


def demo_database(directory: Path) -> DemoDatabase:
    """migrate + seed_demo into a new SQLite file in `directory` (about 10 s: make it once, copy it)."""
    database = directory / "gatehouse.sqlite3"
    output = migrate_and_seed(gatehouse_env(database=database, port=free_port(), DEBUG="1"))
    return DemoDatabase(path=database, api_key=demo_api_key(output))


@contextmanager
def demo_server(database: DemoDatabase, **settings: str) -> Iterator[Gatehouse]:
    """uvicorn serving Gatehouse on `database` on a free port (`settings`: more environment variables)."""
    port = free_port()
    env = gatehouse_env(database=database.path, port=port, **{"DEBUG": "1", **settings})
    with uvicorn_process("config.asgi:application", port=port, env=env) as url:
        yield Gatehouse(url=url, port=port, api_key=database.api_key)

"""The machinery under the suite: a private PostgreSQL and Redis, two Gatehouse processes, the seed.

Everything runs on loopback ports picked free at start (never the machine's shared PostgreSQL on 5432 or
Redis on 6379), is started from Debian's binaries, and is stopped by its own PID. Nothing here imports
Django: the harness only speaks HTTP and SQL to what it started, as a client and an operator would.
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.support.pgcluster import Cluster, private_cluster
from tests.support.redis import RedisProcess
from tests.support.servers import ROOT, free_port, gatehouse_env, migrate_and_seed

DATABASE = "gatehouse"
# Two processes' MCP pools, Django's per-request connections under bursts of 50 concurrent requests,
# the harness's own: PostgreSQL's default of 100 leaves too little room ("too many clients" is a 503).
MAX_CONNECTIONS = 400
# Generous: both processes and the harness share two cores with other engineers' test runs.
START_TIMEOUT = 60.0
UNLIMITED = "1000000/min"


@dataclass
class Server:
    """One Gatehouse process (uvicorn, `config.asgi:application`) on its own port; restartable."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.process.pid

    def start(self, timeout: float = START_TIMEOUT) -> float:
        """Start it and wait until it accepts connections; returns how long that took."""
        command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host=127.0.0.1"]
        command.append(f"--port={self.port}")
        started = time.monotonic()
        # Appended, not truncated: a restart's log follows the killed process's.
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out, stderr=out)
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return time.monotonic() - started
            except OSError:
                if self.process.poll() is not None or time.monotonic() - started > timeout:
                    self.stop()
                    tail = self.log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"Gatehouse {self.name} did not start:\n{tail}") from None
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: a crash, no shutdown of any kind."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        """SIGTERM (its lifespan writes what waits), then SIGKILL after 15 s."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss(self) -> int:
        """Resident set size in bytes (uvicorn without --workers: this PID is the server)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for {self.name}")


@dataclass
class Stack:
    """What one run started: the cluster, Redis, the two processes, and what the seed made."""

    cluster: Cluster
    redis: RedisProcess
    workdir: Path
    # The tables' owner: migrate, the seed, audit_verify and the harness's own checks use it.
    admin_database_url: str
    # What the serving processes connect with: `gatehouse_app`, a login role that owns nothing and
    # cannot bypass row-level security (manage.py grant_app_role), as in production.
    app_database_url: str
    base_env: dict[str, str]
    ports: tuple[int, int]  # A's and B's, kept across restarts; PUBLIC_URL is A's
    seed: dict[str, Any] = field(default_factory=dict)
    servers: list[Server] = field(default_factory=list)
    generation: int = 0

    @property
    def a(self) -> Server:
        return self.servers[0]

    @property
    def b(self) -> Server:
        return self.servers[1]

    def manage_env(self) -> dict[str, str]:
        """manage.py's environment: the serving processes' settings, the owner's database URL."""
        return {**self.base_env, "DATABASE_URL": self.admin_database_url}

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "manage.py", *args]
        return subprocess.run(
            command, cwd=ROOT, env=self.manage_env(), capture_output=True, text=True, timeout=timeout
        )

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """A query as the tables' owner, on a connection of its own."""
        with psycopg.connect(self.admin_database_url, connect_timeout=10) as conn:
            return conn.execute(query, params).fetchall()

    def start_servers(self, **settings: str) -> float:
        """Stop whatever runs, then start A and B with `settings` on top of the base environment;
        returns the slower start."""
        self.stop_servers()
        env = {
            **self.base_env,
            "DATABASE_URL": self.app_database_url,
            "DATABASE_OWNER_URL": self.admin_database_url,
            **settings,
        }
        self.generation += 1
        self.servers = [
            Server(
                name=name, port=port, env=env, log=self.workdir / f"gatehouse-{name}-{self.generation}.log"
            )
            for name, port in zip("AB", self.ports, strict=True)
        ]
        return max(server.start() for server in self.servers)

    def stop_servers(self) -> None:
        for server in self.servers:
            server.stop()


def _base_env(workdir: Path, redis_url: str, public_port: int) -> dict[str, str]:
    """Production-shaped settings shared by every process of the run (DEBUG is per generation).
    Both processes and manage.py share PUBLIC_URL (A's), as behind one load balancer: OAuth tokens
    are bound to PUBLIC_URL/mcp, the seed's included."""
    env = gatehouse_env(database=workdir / "unused.sqlite3", port=public_port)
    env.update(
        {
            "REDIS_URL": redis_url,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "AUDIT_CHAIN_KEY": secrets.token_urlsafe(32),  # manage.py audit_verify needs the same one
            "AUDIT_CHECKPOINT_DIR": str(workdir / "audit"),
            "EMAIL_URL": "consolemail://",
            "ACCESS_LOG": "0",  # as in production; uvicorn's error log still goes to the log file
            "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback; there is no TLS proxy here
            "API_RATE_LIMIT": UNLIMITED,
            "MCP_RATE_LIMIT_PER_CREDENTIAL": UNLIMITED,
            "MCP_RATE_LIMIT_PER_ORG": UNLIMITED,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


APP_ROLE = "gatehouse_app"


def _database(cluster: Cluster) -> str:
    """Raise max_connections (a restart), create the run's database; its URL."""
    server = f"postgres://postgres@127.0.0.1:{cluster.port}"
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
    cluster.stop()
    cluster.start()
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return f"{server}/{DATABASE}"


@contextmanager
def running_stack(workdir: Path) -> Iterator[Stack]:
    """The cluster and Redis started, the database migrated and seeded; no Gatehouse process yet
    (`start_servers`). Everything is stopped by PID on the way out, whatever happened."""
    with ExitStack() as stack:
        cluster = stack.enter_context(private_cluster())
        redis = RedisProcess(port=free_port())
        redis.start()
        stack.callback(redis.stop)
        url = _database(cluster)
        ports = (free_port(), free_port())
        env = _base_env(workdir, redis.url, ports[0])
        gatehouse = Stack(
            cluster=cluster,
            redis=redis,
            workdir=workdir,
            admin_database_url=url,
            app_database_url=url,
            base_env=env,
            ports=ports,
        )
        stack.callback(gatehouse.stop_servers)
        migrate_and_seed(gatehouse.manage_env())
        granted = gatehouse.manage("grant_app_role", APP_ROLE, "--create")
        if granted.returncode != 0:
            raise RuntimeError(f"grant_app_role failed:\n{granted.stderr[-3000:]}")
        gatehouse.app_database_url = url.replace("postgres://postgres@", f"postgres://{APP_ROLE}@", 1)
        out = workdir / "seed.json"
        seeded = subprocess.run(
            [sys.executable, "-m", "tests.reliability.seed", "--out", str(out)],
            cwd=ROOT,
            env=gatehouse.manage_env(),
            capture_output=True,
            text=True,
            timeout=180,
        )
        if seeded.returncode != 0:
            raise RuntimeError(f"tests.reliability.seed failed:\n{seeded.stderr[-3000:]}")
        gatehouse.seed = json.loads(out.read_text())
        yield gatehouse

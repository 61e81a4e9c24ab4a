"""A private PostgreSQL cluster on a free loopback port, in a temporary directory: a test may stop it.

Debian's binaries (/usr/lib/postgresql/<version>/bin); never the machine's shared server. initdb
refuses to run as root, so as root the cluster runs as the `postgres` system user. Standard library
only.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import free_port


def postgres_bin() -> Path | None:
    """The newest installed server's bin directory, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def cluster_user() -> str | None:
    """Who runs the cluster: the current user, or `postgres` for root; "" if root has no such user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return ""
    return "postgres"


@dataclass
class Cluster:
    bin: Path
    directory: Path
    port: int
    user: str | None

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, timeout=60, user=self.user)

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c full_page_writes=off"
        )
        log = str(self.directory / "server.log")
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            log,
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", "-m", mode, "stop")

    def running(self) -> bool:
        status = subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            timeout=30,
            user=self.user,
        )
        return status.returncode == 0


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A started cluster (user postgres, no password, database postgres); stopped and removed after."""
    bin_dir, user = postgres_bin(), cluster_user()
    if bin_dir is None or user == "":
        raise RuntimeError("no PostgreSQL server binaries, or no user to run them as")
    directory = Path(tempfile.mkdtemp(prefix="gatehouse-pg-"))
    if user:
        shutil.chown(directory, user=user)
    cluster = Cluster(bin=bin_dir, directory=directory, port=free_port(), user=user)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            if cluster.running():
                cluster.stop("immediate")
        finally:
            shutil.rmtree(directory, ignore_errors=True)

"""Gatehouse in a uvicorn subprocess on loopback, on its own SQLite file: for end-to-end tests and bench/.

Standard library only (no pytest, no Django), so that the benchmarks can start servers the same way
the tests do without depending on the test tooling.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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


@contextmanager
def uvicorn_process(
    app: str, *, port: int, env: dict[str, str], root: Path = ROOT, timeout: float = 30
) -> Iterator[str]:
    """uvicorn serving `app` on 127.0.0.1:`port`; yields the base URL once it accepts connections."""
    # A file, not a pipe: nobody reads stderr while the server runs, and a full pipe would block it.
    command = [sys.executable, "-m", "uvicorn", app, "--host=127.0.0.1", f"--port={port}", "--no-access-log"]
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
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

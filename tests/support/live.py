"""Real servers on loopback for end-to-end tests: uvicorn serving config.asgi, over real HTTP.

Two flavours:

- `live_server_url` (session fixture, re-exported by tests/conftest.py): `make run` in miniature, in
  a subprocess (tests/servers.py): its own temp SQLite file, `migrate` + `seed_demo`, uvicorn, and
  mail written to files in `live_mailbox`. For journeys that only need the demo data (browser tests,
  the OAuth flow with the demo user).
- `serve_in_thread(app)`: uvicorn in a thread of the test process, serving an app built by
  `config.asgi.build_application()`, so it uses pytest-django's test database: tests create data
  with factories and check rows directly (use `transactional_db`, the server's threads cannot see a
  test's open transaction). Works on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from tests.support.servers import free_port, gatehouse_env, migrate_and_seed, uvicorn_process

_SERVERS: dict[str, uvicorn.Server] = {}


def wait_until_idle(url: str, *, timeout: float = 10) -> None:
    """Wait until the in-thread server at `url` has no request in progress.

    A client can return before the server has finished with its last request (a notification is
    answered 202 before it is handled); a test's teardown must not flush the shared in-memory
    SQLite database under a request still reading it ("table is locked").
    """
    server = _SERVERS[url]
    deadline = time.monotonic() + timeout
    while server.server_state.tasks and time.monotonic() < deadline:
        time.sleep(0.005)


@contextmanager
def serve_in_thread(app: object, *, lifespan: str = "on", access_log: bool = False) -> Iterator[str]:
    """Serve an ASGI app on a free loopback port in a daemon thread; yields its base URL.

    uvicorn logs through the project's LOGGING (`log_config=None`), so tests see what production logs.
    """
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host="127.0.0.1",
        port=0,
        log_config=None,
        lifespan=lifespan,  # type: ignore[arg-type]
        access_log=access_log,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    _SERVERS[url] = server
    try:
        yield url
    finally:
        _SERVERS.pop(url, None)
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def live_mailbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where `live_server_url` writes the mail it sends (invitations, links to confirm): a file each."""
    return tmp_path_factory.mktemp("mailbox")


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory: pytest.TempPathFactory, live_mailbox: Path) -> Iterator[str]:
    """`make run` in miniature: migrate, seed_demo, then uvicorn serving config.asgi, in a subprocess."""
    port = free_port()
    env = gatehouse_env(
        database=tmp_path_factory.mktemp("live") / "gatehouse.sqlite3",
        port=port,
        DEBUG="1",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(live_mailbox),
    )
    migrate_and_seed(env)
    with uvicorn_process("config.asgi:application", port=port, env=env) as url:
        yield url

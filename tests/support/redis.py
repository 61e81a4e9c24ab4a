"""A Redis server of the test's own, on a free loopback port, stopped by PID: never the machine's."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.servers import free_port


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


class RedisProcess:
    """redis-server on 127.0.0.1:`port`, in memory only; stop() and start() again on the same port
    (a Redis outage and its end)."""

    def __init__(self, *, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        port = str(self.port)
        command = ["redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop this server, by its own PID."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def redis_process() -> Iterator[RedisProcess]:
    """A started RedisProcess on a free port, stopped at the end."""
    redis = RedisProcess(port=free_port())
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@contextmanager
def redis_server() -> Iterator[str]:
    """redis-server on 127.0.0.1 and a free port, in memory only; yields its redis:// URL."""
    with redis_process() as redis:
        yield redis.url

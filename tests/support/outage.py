"""A database outage inside the test process: every new cursor fails as a stopped server's would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.db import connections

# What a driver says when its server is gone: the host, the port and the driver's words, none of
# which may reach an answer.
DRIVER_TEXT = 'connection to server at "10.9.8.7", port 6543 failed: Connection refused'
LEAKS = ("10.9.8.7", "6543", "Connection refused", "OperationalError", "Traceback")


@contextmanager
def database_down() -> Iterator[None]:
    """Inside the block, every query of every thread (the MCP pool's too) fails with the driver's own
    OperationalError, which Django wraps as it would a real one. Connections already open stay open."""
    wrapper = type(connections["default"])

    def refuse(self: Any, name: Any = None) -> Any:
        raise self.Database.OperationalError(DRIVER_TEXT)

    with mock.patch.object(wrapper, "create_cursor", refuse):
        yield


def assert_nothing_internal(body: str) -> None:
    leaked = [text for text in LEAKS if text in body]
    assert not leaked, f"the answer reveals {leaked}: {body[:500]}"

"""A subprocess whose output the test reads line by line while it runs, with bounded waits.

For programs that print something the test must act on before they finish (the header proxy prints
its port; the conformance suite's authorization test prints an authorize URL, then waits for the
browser). Stopped by its own PID when the `with` block ends.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType


class Background:
    """`with Background([...]) as p: p.wait_for(r"listening on (\\d+)")`; stdout and stderr merged."""

    def __init__(
        self, command: Sequence[str | Path], *, cwd: Path, env: dict[str, str] | None = None
    ) -> None:
        self.command = [str(part) for part in command]
        self.cwd = cwd
        self.env = env
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> Background:
        self._process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.PIPE,  # closed on exit: the proxy stops when its stdin ends
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        process = self.process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process.stdin:
            process.stdin.close()
        if self._reader:
            self._reader.join(timeout=10)

    @property
    def process(self) -> subprocess.Popen[str]:
        if self._process is None:
            raise RuntimeError("not started: use `with Background(...)`")
        return self._process

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str, *, timeout: float) -> re.Match[str]:
        """The first output line matching `pattern`; fails with the output so far after `timeout` seconds
        or if the program ends without printing it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if match := regex.search(line):
                        return match
                seen = len(self.lines)
                remaining = deadline - time.monotonic()
                reader_done = self._reader is not None and not self._reader.is_alive()
                if remaining <= 0 or reader_done:
                    ended = f"exited with {self.process.poll()}" if reader_done else "still running"
                    raise AssertionError(
                        f"{self.command[:3]} printed no line matching {pattern!r} ({ended}):\n"
                        + "".join(self.lines)[-4000:]
                    )
                self._changed.wait(timeout=min(remaining, 1.0))

    def wait(self, *, timeout: float) -> int:
        """Wait for the program to end (at most `timeout` seconds) and for all its output to be read."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.command[:3]} did not finish within {timeout}s:\n" + self.output[-4000:]
            ) from None
        if self._reader:
            self._reader.join(timeout=10)
        return code

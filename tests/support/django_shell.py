"""A Django process that runs the code a test sends it, on a database that server processes share.

`with django_shell(env) as shell: shell.run("...; result = ...")` executes each snippet in one
long-lived namespace (so later snippets see earlier names) with Django set up from `env`, exactly as
production code would run: services, `QuerySet.update()`, the admin through Django's test client.
The snippet's `result` comes back, JSON-encoded. Standard library only on the test's side.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REPLY = "@@gatehouse-shell@@ "  # anything else on stdout (a console email, a print) is not a reply


class ShellError(RuntimeError):
    """The snippet raised; the message is the child's traceback."""


class DjangoShell:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def run(self, code: str, *, timeout: float = 60) -> Any:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps({"code": code}) + "\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the Django shell did not answer within {timeout} s")
            ready, _, _ = select.select([self.process.stdout], [], [], remaining)
            if not ready:
                continue
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the Django shell exited ({self.process.poll()})")
            if line.startswith(REPLY):
                reply = json.loads(line[len(REPLY) :])
                if not reply["ok"]:
                    raise ShellError(reply["error"])
                return reply["result"]


@contextmanager
def django_shell(env: dict[str, str]) -> Iterator[DjangoShell]:
    command = [sys.executable, "-m", "tests.support.django_shell"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    try:
        yield DjangoShell(process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _serve() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    namespace: dict[str, Any] = {}
    for line in sys.stdin:
        namespace.pop("result", None)
        try:
            exec(json.loads(line)["code"], namespace)  # noqa: S102 - the test's own code
            reply = {"ok": True, "result": namespace.get("result")}
        except Exception:
            reply = {"ok": False, "error": traceback.format_exc()}
        print(REPLY + json.dumps(reply, default=str), flush=True)


if __name__ == "__main__":
    _serve()

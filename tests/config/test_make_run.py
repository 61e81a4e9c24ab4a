"""`make run PORT=…`: every link the server gives out follows the port, unless PUBLIC_URL says otherwise."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import ROOT, free_port


def _make_run(tmp_path: Path, *arguments: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "make-run.log"
    env = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_URL", "HOST", "PORT", "REDIS_URL")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        AUDIT_CHECKPOINT_DIR=str(tmp_path / "audit"),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    with log.open("wb") as output:
        # Its own process group: make's uvicorn child is stopped with it, by the group id.
        process = subprocess.Popen(
            [shutil.which("make") or "make", "--no-print-directory", "run", *arguments],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, log


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if process.poll() is not None:
                break
            time.sleep(0.3)
    pytest.fail(f"make run did not serve {url}: {log.read_text()[-2000:]}")


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "python").exists(), reason="make run uses .venv")
def test_make_run_on_another_port_gives_out_links_on_that_port(tmp_path: Path) -> None:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    process, log = _make_run(tmp_path, f"PORT={port}")
    try:
        _wait_for(f"{origin}/login/", process, log)
        printed = log.read_text()
        metadata = httpx.get(f"{origin}/.well-known/oauth-authorization-server").json()
        challenge = httpx.post(f"{origin}/mcp", json={}).headers["www-authenticate"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    assert f"Dashboard: {origin}/" in printed
    assert f"MCP:       {origin}/mcp" in printed
    assert ":8000" not in printed
    assert metadata["issuer"] == origin
    assert metadata["authorization_endpoint"].startswith(f"{origin}/")
    assert f'resource_metadata="{origin}/.well-known/oauth-protected-resource/mcp"' in challenge

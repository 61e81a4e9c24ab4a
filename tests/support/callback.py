"""An OAuth client's loopback redirect URI (RFC 8252): a tiny HTTP server that keeps what it receives.

with LoopbackCallback() as callback:       # http://127.0.0.1:<free port>/callback
    ...                                     # register callback.url, send the browser to authorize
    params = callback.wait(timeout=60)      # {"code": ..., "state": ..., "iss": ...} or {"error": ...}
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

# What a native app shows once the browser is back: a page that loads nothing else (no favicon request).
PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Signed in</title></head><body><p>You can close this window.</p></body></html>"""


class LoopbackCallback:
    def __init__(self, path: str = "/callback") -> None:
        self.path = path
        self.received: list[dict[str, str]] = []
        self._arrived = threading.Event()
        callback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != callback.path:
                    self.send_error(404)
                    return
                callback.received.append({k: v[0] for k, v in parse_qs(parts.query).items()})
                callback._arrived.set()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"

    def __enter__(self) -> LoopbackCallback:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def wait(self, *, timeout: float) -> dict[str, str]:
        """The query of the first redirect that arrived; fails after `timeout` seconds without one."""
        if not self._arrived.wait(timeout):
            raise AssertionError(f"nothing arrived at {self.url} within {timeout}s")
        return self.received[0]

"""Requests as clients send them, what their answers mean, and background load on both processes.

Every request has a timeout and every loop a deadline. An answer is one of four kinds:

- `ok`: the call did what it was asked (REST 2xx; MCP 200 with a result that is not an error);
- `unavailable`: a clean refusal during a database outage: a JSON 503 `temporarily_unavailable` with
  `Retry-After`, or (MCP, inside a call) a JSON-RPC error -32603; nothing of the driver in the body;
- `refused`: no HTTP answer at all (the process is dead: connection refused or reset);
- `bad`: anything else (a 500, a 429 where none was expected, a tool error, driver text, a timeout).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.wrk import LEGACY, MODERN, request
from tests.reliability.stack import Server

ERAS = (LEGACY, MODERN)
TIMEOUT = 15.0
# What must never reach a client: the driver's words, exception names, a traceback. The private
# cluster's port is added per run (`Leaks`).
DRIVER_TEXT = (
    "psycopg",
    "operationalerror",
    "interfaceerror",
    "traceback",
    "connection to server",
    "connection refused",
    "could not connect",
    "terminating connection",
    "server closed the connection",
    "redis",
)


@dataclass(frozen=True)
class Leaks:
    """What an error body must not contain (the database's port too)."""

    database_port: int

    def found(self, body: str) -> list[str]:
        text = body.lower()
        markers = (*DRIVER_TEXT, f":{self.database_port}", f"port {self.database_port}")
        return [marker for marker in markers if marker in text]


@dataclass
class Outcome:
    sent: float  # time.monotonic() when sent
    received: float
    server: str  # "A" or "B"
    channel: str  # "rest" or "mcp"
    kind: str  # ok, unavailable, refused, bad
    status: int = 0  # HTTP status; 0 without an answer
    detail: str = ""  # for `bad`: what was wrong, with the start of the body
    document: str = ""  # a write's new document id, when acknowledged


def mcp_post(
    http: httpx.Client, server: Server, token: str, tool: str, arguments: dict[str, Any], era: str
) -> httpx.Response:
    """One stateless `tools/call` in the era's shape (bench/wrk.py builds it as the SDK would)."""
    headers, body = request(tool=tool, arguments=arguments, token=token, era=era)
    return http.post(f"{server.url}/mcp", json=body, headers=headers, timeout=TIMEOUT)


def _clean_503(response: httpx.Response, leaks: Leaks) -> str:
    """ "" if this 503 is the documented one; else what is wrong with it."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return "503 not JSON"
    if not response.headers.get("retry-after", "").isdigit():
        return "503 without Retry-After"
    try:
        error = response.json().get("error")
    except ValueError:
        return "503 body not JSON"
    if error != "temporarily_unavailable":
        return f"503 error {error!r}"
    if leaked := leaks.found(response.text):
        return f"503 reveals {leaked}"
    return ""


def classify(response: httpx.Response, channel: str, leaks: Leaks) -> tuple[str, str, str]:
    """(kind, detail, document id) of an answer to a write or a read."""
    body = response.text[:300]
    if response.status_code == 503:
        problem = _clean_503(response, leaks)
        return ("bad", f"{problem}: {body}", "") if problem else ("unavailable", "", "")
    if channel == "rest":
        if 200 <= response.status_code < 300:
            document = response.json().get("id", "") if response.status_code == 201 else ""
            return "ok", "", document
        return "bad", f"HTTP {response.status_code}: {body}", ""
    if response.status_code != 200:
        return "bad", f"HTTP {response.status_code}: {body}", ""
    try:
        message = response.json()
    except ValueError:
        return "bad", f"not JSON: {body}", ""
    if "error" in message:
        if message["error"].get("code") == -32603 and not leaks.found(response.text):
            return "unavailable", "", ""
        return "bad", f"JSON-RPC error: {body}", ""
    result = message.get("result", {})
    if result.get("isError"):
        return "bad", f"tool error: {body}", ""
    structured = result.get("structuredContent") or {}
    return "ok", "", structured.get("id", "") if isinstance(structured, dict) else ""


def attempt(server: Server, channel: str, send: Callable[[], httpx.Response], leaks: Leaks) -> Outcome:
    """Send, and classify what came back (or did not)."""
    sent = time.monotonic()
    try:
        response = send()
    except httpx.TimeoutException:
        return Outcome(sent, time.monotonic(), server.name, channel, "bad", detail="timed out")
    except httpx.TransportError as error:
        return Outcome(sent, time.monotonic(), server.name, channel, "refused", detail=type(error).__name__)
    kind, detail, document = classify(response, channel, leaks)
    return Outcome(sent, time.monotonic(), server.name, channel, kind, response.status_code, detail, document)


@dataclass
class Load:
    """`threads` threads sending one request after another (with `pause` between) until stopped.

    `step(http, n)` sends the n-th request of the whole load (a shared counter, so that requests
    alternate evenly between processes and channels whatever the threads' speeds) and returns its
    outcome. Use as a context manager; the threads stop on the way out, each within TIMEOUT.
    """

    step: Callable[[httpx.Client, int], Outcome]
    threads: int = 4
    pause: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Load:
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, name=f"load-{index}", daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=TIMEOUT + 5)
        if any(worker.is_alive() for worker in self._workers):
            raise RuntimeError("a load thread did not stop")

    def _run(self) -> None:
        with httpx.Client() as http:
            while not self._stop.is_set():
                outcome = self.step(http, next(self._counter))
                with self._lock:
                    self.outcomes.append(outcome)
                if self.pause:
                    self._stop.wait(self.pause)

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)


def write_step(
    servers: list[Server], keys: dict[tuple[str, str], str], project: str, leaks: Leaks, tag: str
) -> Callable[[httpx.Client, int], Outcome]:
    """Document creates: requests alternate A/B, then REST/MCP, then (MCP) the two protocol eras.
    `keys` maps (process name, channel) to the key sent, and so to the organization written into."""

    def step(http: httpx.Client, n: int) -> Outcome:
        server = servers[n % 2]
        channel = ("rest", "mcp")[n // 2 % 2]
        token = keys[server.name, channel]
        title = f"{tag} {n}"
        body = f"Written by the reliability suite ({tag}, request {n})."
        if channel == "rest":
            return attempt(
                server,
                channel,
                lambda: http.post(
                    f"{server.url}/api/v1/projects/{project}/documents/",
                    json={"title": title, "body": body},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=TIMEOUT,
                ),
                leaks,
            )
        era = ERAS[n // 4 % 2]
        arguments = {"project": project, "title": title, "body": body}
        return attempt(
            server, channel, lambda: mcp_post(http, server, token, "create_document", arguments, era), leaks
        )

    return step


Tool = tuple[str, dict[str, Any]]


def read_tools(document: str) -> list[Tool]:
    return [
        ("whoami", {}),
        ("list_projects", {}),
        ("get_document", {"document": document}),
        ("search_documents", {"query": "welcome"}),
    ]


def read_step(
    servers: list[Server],
    keys: list[str],
    leaks: Leaks,
    *,
    tools: list[Tool] | None = None,
    rest: bool = True,
) -> Callable[[httpx.Client, int], Outcome]:
    """Reads: A/B alternating, MCP `tools` in turn (default `whoami`, `list_projects`) in both eras,
    keys taken in turn (every key meets both eras), and with `rest` one request in four REST `whoami`."""
    tools = tools or [("whoami", {}), ("list_projects", {})]

    def step(http: httpx.Client, n: int) -> Outcome:
        server = servers[n % 2]
        token = keys[n // 2 % len(keys)]
        if rest and n // 2 % 4 == 3:
            return attempt(
                server,
                "rest",
                lambda: http.get(
                    f"{server.url}/api/v1/whoami/",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=TIMEOUT,
                ),
                leaks,
            )
        tool, arguments = tools[n // 8 % len(tools)]
        era = ERAS[n // 4 % 2]
        return attempt(server, "mcp", lambda: mcp_post(http, server, token, tool, arguments, era), leaks)

    return step


def count(outcomes: list[Outcome], **where: str) -> int:
    return sum(all(getattr(o, name) == value for name, value in where.items()) for o in outcomes)


def bad_samples(outcomes: list[Outcome], limit: int = 3) -> list[str]:
    """A few of the `bad` answers, for the report."""
    return [f"{o.server}/{o.channel}: {o.detail}" for o in outcomes if o.kind == "bad"][:limit]

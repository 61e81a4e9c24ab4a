"""The ASGI gateway in front of the SDK's MCP app: everything about `/mcp` that is HTTP, not MCP.

In order: anything but POST gets 405 (a stateless GET would hold an empty stream open); credentials
in the URL 400; Host is checked against ALLOWED_HOSTS (421) and Origin (403); the body is capped
(413); the bearer token is resolved (401 with `resource_metadata`; 503 + Retry-After when the
database is unreachable, accounts/core/outage.py) and rate limits counted (429 + Retry-After); a
`tools/call` whose tool needs a scope the token lacks is answered 403 `insufficient_scope` naming it,
so clients can step up. Only then does the SDK see the request, with the principal in a context
variable. The SDK's own bearer middleware is not used: it requires one fixed set of scopes for every
request, where ours depend on the tool called. The audit events of MCP calls are sealed by a
background task the gateway's lifespan runs (mcpserver/sealer.py), not inline after each call's
commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http.request import split_domain_port, validate_host
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accounts.audit.record import audit_deferred_to
from accounts.core import outage
from accounts.core.bearer import InvalidToken
from accounts.core.urlguard import credential_in_url, query_credential_error_body
from mcpserver import auth
from mcpserver.context import CURRENT_PRINCIPAL
from mcpserver.db import close_pool
from mcpserver.generations import GenerationReader
from mcpserver.registry import missing_scopes
from mcpserver.sealer import AuditSealer

MCP_PATH = "/mcp"


@dataclass(frozen=True, slots=True)
class _Settings:
    """The settings every request reads, read once: `settings.X` is a LazySettings lookup per use."""

    max_body: int
    ssl_redirect: bool


_SETTINGS: _Settings | None = None


def _settings() -> _Settings:
    global _SETTINGS
    if _SETTINGS is None:
        _SETTINGS = _Settings(max_body=settings.MCP_MAX_BODY_BYTES, ssl_redirect=settings.SECURE_SSL_REDIRECT)
    return _SETTINGS


@lru_cache(maxsize=256)
def _host_allowed(header: str) -> bool:
    """Whether a Host header names one of ALLOWED_HOSTS (a client sends the same one every time)."""
    host, _port = split_domain_port(header)
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)


@receiver(setting_changed)
def _settings_changed(**kwargs: Any) -> None:
    """Tests' override_settings: read them again."""
    global _SETTINGS
    _SETTINGS = None
    _host_allowed.cache_clear()


def _origin_allowed(origin: str) -> bool:
    if origin in settings.MCP_ALLOWED_ORIGINS:
        return True
    scheme, _, rest = origin.partition("://")
    public_scheme = settings.PUBLIC_URL.partition("://")[0]
    host, _port = split_domain_port(rest)
    return bool(host) and scheme == public_scheme and validate_host(host, settings.ALLOWED_HOSTS)


async def _error(
    send: Send,
    status: int,
    error: str,
    description: str,
    challenge: str = "",
    *,
    retry_after: int | None = None,
    scope: str = "",
) -> None:
    """A JSON error answered by the gateway, OAuth style: `{"error", "error_description"}`."""
    body: dict[str, Any] = {"error": error, "error_description": description}
    if scope:
        body["scope"] = scope
    payload = json.dumps(body, ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if status == 405:
        headers.append((b"allow", b"POST"))
    if challenge:
        headers.append((b"www-authenticate", challenge.encode()))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def https_redirect(scope: Scope) -> str | None:
    """Where to send a plain-HTTP request when SECURE_SSL_REDIRECT is on, as Django's views are sent."""
    if not _settings().ssl_redirect or scope.get("scheme") == "https":
        return None
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    proxy = settings.SECURE_PROXY_SSL_HEADER  # ("HTTP_X_FORWARDED_PROTO", "https") behind a TLS proxy
    if proxy:
        header = proxy[0].removeprefix("HTTP_").replace("_", "-").lower()
        if headers.get(header, "").split(",")[0].strip() == proxy[1]:
            return None
    host = settings.SECURE_SSL_HOST or headers.get("host", "")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"https://{host}{scope['path']}" + (f"?{query}" if query else "")


async def _redirect(send: Send, location: str) -> None:
    # 308, not Django's 301: it keeps the method, so a client's POST is not turned into a GET.
    headers = [(b"location", location.encode("latin-1")), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 308, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


class _BodyTooLarge(Exception):
    pass


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _BodyTooLarge  # nothing to answer; treated like an aborted upload
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class _Unparseable(Exception):
    pass


def _parse(body: bytes) -> Any:
    """The JSON-RPC message; _Unparseable if it is not JSON, or nested deeper than the parser goes."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise _Unparseable from None


async def _parse_error(send: Send) -> None:
    """JSON-RPC's own answer to a body that is not JSON (-32700), as the SDK gives it."""
    payload = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32700, "message": "Parse error: the body is not JSON."},
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _tool_call_name(message: Any) -> str | None:
    """The tool a JSON-RPC `tools/call` message names; None for any other message (the SDK validates it)."""
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    return name if isinstance(name, str) else None


class McpGateway:
    """ASGI: the HTTP checks in front of the SDK app (see the module docstring)."""

    def __init__(self, sdk_app: ASGIApp, prm_app: ASGIApp) -> None:
        self.sdk_app = sdk_app
        self.prm_app = prm_app
        self.sealer = AuditSealer()
        self.generations = GenerationReader()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # starts the SDK's session manager (its task group)
            try:
                await self.sdk_app(scope, receive, self.lifespan_send(send))
            finally:
                await self.sealer.stop()  # no-op if the send hook below already did it
                await self.generations.close()
                close_pool()
        elif (location := https_redirect(scope)) is not None:
            await _redirect(send, location)
        elif scope["path"] != MCP_PATH:
            await self.prm_app(scope, receive, send)
        else:
            await self.handle_mcp(scope, receive, send)

    def lifespan_send(self, send: Send) -> Send:
        """The SDK's lifespan `send`, hooked: the audit sealer starts with the app, and seals what is
        left before the server is told shutdown is complete (after that it may not wait for us)."""

        async def hooked(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self.sealer.start()
            elif message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.sealer.stop()
            await send(message)

        return hooked

    async def handle_mcp(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            await _error(send, *refusal)
            return
        limit = _settings().max_body
        try:
            body = await _read_body(receive, limit)
        except _BodyTooLarge:
            await _error(send, 413, "request_too_large", f"The body is over {limit} bytes.")
            return

        token = auth.bearer_token(headers.get("authorization"))
        if token is None:
            # RFC 6750 §3.1: no error code when no credentials were sent, only where to get some.
            challenge = auth.www_authenticate()
            await _error(send, 401, "invalid_token", "Send Authorization: Bearer <token>.", challenge)
            return
        client = scope.get("client")
        try:
            principal, limited = await auth.authenticate(
                token=token,
                ip=client[0] if client else None,
                user_agent=headers.get("user-agent", ""),
                generations=self.generations,
            )
        except outage.OUTAGE_ERRORS as error:
            # Before the SDK, like the other refusals: JSON, Retry-After, nothing of the driver's text.
            outage.log_outage("MCP authentication", error)
            await _error(send, 503, outage.ERROR_CODE, outage.MESSAGE, retry_after=outage.RETRY_AFTER)
            return
        if principal is None:
            description = str(InvalidToken.description)
            challenge = auth.www_authenticate(error="invalid_token", description=description)
            await _error(send, 401, "invalid_token", description, challenge)
            return
        if limited is not None:
            description = f"Too many requests for this {limited.limit}; retry in {limited.retry_after} s."
            await _error(send, 429, "rate_limited", description, retry_after=limited.retry_after)
            return
        try:
            message = _parse(body)
        except _Unparseable:
            await _parse_error(send)
            return
        tool_name = _tool_call_name(message)
        missing = missing_scopes(principal, tool_name) if tool_name else []
        if missing:
            # 403 rather than a tool error, so a client can ask the user for the scope and retry.
            needed = " ".join(missing)
            description = f"The tool {tool_name} needs the scope {needed}, which this token lacks."
            challenge = auth.www_authenticate(
                error="insufficient_scope", description=description, scope=needed
            )
            await _error(send, 403, "insufficient_scope", description, challenge, scope=needed)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        principal_token = CURRENT_PRINCIPAL.set(principal)
        try:
            if self.sealer.running:  # the audit events of this call are written and sealed in batches
                with audit_deferred_to(self.sealer.journal):
                    await self.sdk_app(scope, replay, send)
            else:  # no lifespan (no sealer task): write and seal at once, as the dashboard does
                await self.sdk_app(scope, replay, send)
        finally:
            CURRENT_PRINCIPAL.reset(principal_token)

    @staticmethod
    def refusal(scope: Scope, headers: dict[str, str]) -> tuple[int, str, str] | None:
        """Checks that need neither the body nor the database: status, error code, description."""
        if scope["method"] != "POST":
            # Stateless: no server-initiated stream to GET (it would hang), no session to DELETE.
            return 405, "method_not_allowed", "Use POST."
        query = scope.get("query_string", b"").decode("latin-1")
        parameter = credential_in_url(path=scope["path"], query_string=query)
        if parameter is not None:
            return 400, "invalid_request", query_credential_error_body(parameter)["error_description"]
        # DNS rebinding: the Host must be ours (ALLOWED_HOSTS, as for Django's views); a browser's
        # Origin must be PUBLIC_URL's or another allowed host's.
        if not _host_allowed(headers.get("host", "")):
            return 421, "misdirected_request", "Invalid Host header."
        origin = headers.get("origin")
        if origin and not _origin_allowed(origin):
            return 403, "forbidden", "Invalid Origin header."
        try:
            declared = int(headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        limit = _settings().max_body
        if declared > limit:
            return 413, "request_too_large", f"The body is over {limit} bytes."
        return None

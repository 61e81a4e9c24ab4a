"""The database is unreachable: every channel answers 503 with `Retry-After`, never a 500 or driver text.

An outage reaches the code as Django's `OperationalError` (cannot connect, the server went away, a
locked SQLite file) or `InterfaceError` (a connection already closed). Other database errors
(IntegrityError, ProgrammingError, DataError…) are bugs or conflicts, not outages: they stay 500s.
Nothing of the driver's message (host, port, user, SQL) goes into a response body; it is logged once
per request, on the server, with the traceback at most once a minute per process (an outage of a few
seconds under load would otherwise write thousands of identical tracebacks). Nothing needs resetting
when the database returns: Django opens a new connection for the next request, and the MCP pool
closes a connection that saw an error (mcpserver/db.py).

The REST API's handler (accounts/core/exceptions.py), the MCP gateway and tools (mcpserver/) use
the helpers here; `DatabaseUnavailableMiddleware` covers every other Django view: the OAuth
endpoints in JSON, the dashboard with a page of its own (templates/503.html).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time

from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.deprecation import MiddlewareMixin
from django.utils.log import log_response
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# The errors meaning "the database cannot be reached right now".
OUTAGE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
# Seconds a client should wait before retrying: a restart or a failover usually takes a few.
RETRY_AFTER = 5
ERROR_CODE = "temporarily_unavailable"  # RFC 6749 §4.1.2.1's code for the same situation
# What the MCP endpoint says (it has no request language); the other channels translate it.
MESSAGE = "The database is unavailable; try again in a few seconds."

# Answered in JSON, not with the page: the REST API, the OAuth endpoints a client (not a person) calls,
# and the well-known metadata. /oauth/authorize/ is a page a person sees.
_JSON_PATHS = re.compile(r"^/(api/|\.well-known/|oauth/(token|revoke|introspect|register)/)")


def is_outage(error: BaseException) -> bool:
    """Whether this exception means the database is unreachable (see the module docstring)."""
    return isinstance(error, OUTAGE_ERRORS)


def description() -> str:
    """The `error_description` of a 503, in the request's language."""
    return _("The database is unavailable; try again in a few seconds.")


# The traceback of an outage is logged at most this often (seconds) per process; every request still
# logs its one line.
TRACEBACK_EVERY = 60.0
_traceback_logged_at = -math.inf
_traceback_lock = threading.Lock()


def traceback_due() -> bool:
    """Whether this outage's log line should carry the traceback (the first in `TRACEBACK_EVERY` s)."""
    global _traceback_logged_at
    now = time.monotonic()
    with _traceback_lock:
        if now - _traceback_logged_at < TRACEBACK_EVERY:
            return False
        _traceback_logged_at = now
        return True


def reset_traceback_throttle() -> None:
    """Forget when a traceback was last logged (tests)."""
    global _traceback_logged_at
    with _traceback_lock:
        _traceback_logged_at = -math.inf


def log_outage(where: str, error: BaseException) -> None:
    """Log one request's outage, once, with the driver's message (it never goes into the answer)."""
    exc_info = error if traceback_due() else None
    logger.error("Database unavailable (%s): %s", where, type(error).__name__, exc_info=exc_info)


def json_body(**extra: object) -> dict[str, object]:
    return {"error": ERROR_CODE, "error_description": description(), **extra}


def _json_response(request: HttpRequest) -> HttpResponse:
    # The REST API's error shape carries the wait in the body too (accounts/core/exceptions.py).
    extra = {"retry_after": RETRY_AFTER} if request.path.startswith("/api/") else {}
    payload = json.dumps(json_body(**extra), ensure_ascii=False)
    return HttpResponse(payload, status=503, content_type="application/json")


def _page(request: HttpRequest) -> HttpResponse:
    # Rendered without the request: the request context (the user, the session's messages, the
    # navigation) would read the database again.
    html = render_to_string("503.html", {"retry_url": request.get_full_path()})
    return HttpResponse(html, status=503)


def unavailable_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    """The 503 of a Django view: JSON for API and OAuth clients, the page for people. Logged here."""
    response = _json_response(request) if _JSON_PATHS.match(request.path) else _page(request)
    response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    log_request_outage(request=request, response=response, error=error)
    return response


def log_request_outage(*, request: HttpRequest, response: HttpResponse, error: BaseException) -> None:
    """Log a Django request's 503 once, on Django's request logger, which then skips its own line."""
    log_response(
        "Database unavailable: %s: %s",
        request.path,
        type(error).__name__,
        response=response,
        request=request,
        exception=error if traceback_due() else None,
    )


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """A view (or its template) that hits a database outage answers 503, not Django's 500 page.

    MiddlewareMixin: sync and async alike, so it costs no thread hop under ASGI."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_outage(exception):
            return None
        return unavailable_response(request, exception)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that saving the session during an outage answers 503, not 500.

    The view has answered by then, but what it did may not be kept (its session is not), so the
    client is told to retry. Errors of the response phase never reach `process_exception`.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)  # type: ignore[no-any-return]
        except OUTAGE_ERRORS as error:
            return unavailable_response(request, error)

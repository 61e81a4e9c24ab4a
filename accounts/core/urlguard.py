"""Refuse what no view should ever see: credentials in URLs, and NUL characters anywhere in a request.

Query strings end up in access logs, browser history and proxies, so a credential there is refused
before anything logs it. A NUL character is never valid text (PostgreSQL refuses it in a text
column, so it would surface as a 500 deep in a view); it is refused up front with a 400.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from accounts.core.secrecy import CREDENTIAL_PARAMETERS, SECRET_VALUE


def credential_in_query(query_string: str) -> str | None:
    """The name of the first query parameter that carries a credential, or None. Shared with MCP."""
    for name, value in parse_qsl(query_string, keep_blank_values=False):
        if name.lower() in CREDENTIAL_PARAMETERS or SECRET_VALUE.search(value):
            return name
    return None


def credential_in_url(*, path: str, query_string: str) -> str | None:
    """Where a URL carries a credential: a query parameter's name, "path", or None."""
    if SECRET_VALUE.search(path):
        return "path"
    return credential_in_query(query_string) if query_string else None


def query_credential_error_body(parameter: str) -> dict[str, str]:
    """The 400 explanation; it names where the credential was, never its value."""
    where = (
        _("in the path")
        if parameter == "path"
        else _("in the query parameter “%(parameter)s”") % {"parameter": parameter}
    )
    return {
        "error": "invalid_request",
        "error_description": _(
            "Credentials are not accepted in the URL (found %(where)s): URLs are kept in logs, browser "
            "history and proxies. Send the key in a header instead: Authorization: Bearer sk-…. "
            "If this was a real key, consider it exposed and roll it."
        )
        % {"where": where},
    }


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def nul_in_request(request: HttpRequest) -> bool:
    """Whether the path, the query string or a form field (name or value) holds a NUL character."""
    if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        # The raw body, not request.POST: parsing here would leave nothing for DRF's own parsers.
        body = request.body
        return b"\x00" in body or (request.content_type == _FORM_TYPES[0] and b"%00" in body)
    return False


def _nul_error() -> JsonResponse:
    return JsonResponse(
        {"error": "invalid_request", "error_description": _("The request contains a NUL character.")},
        status=400,
    )


class UrlGuardMiddleware:
    """First in MIDDLEWARE: answers 400 before any view, log line or error page sees the URL's secret."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        parameter = credential_in_url(path=request.path, query_string=request.META.get("QUERY_STRING", ""))
        if parameter is not None:
            response = JsonResponse(
                query_credential_error_body(parameter), status=400, json_dumps_params={"ensure_ascii": False}
            )
        elif nul_in_request(request):
            response = _nul_error()
        else:
            return None
        add_never_cache_headers(response)
        return response

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self.__acall__(request)
        return self._refusal(request) or self.get_response(request)  # type: ignore[return-value]

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        return self._refusal(request) or await self.get_response(request)  # type: ignore[misc]

"""One JSON error shape for the whole API: `{"error": code, "error_description": text, ...}`.

Codes: 400 `invalid_request` (+ `fields`), 401 `unauthorized` / `invalid_token`, 403
`insufficient_scope` (+ `scope`) / `forbidden`, 404 `not_found`, 405 `method_not_allowed`,
429 `rate_limited` (+ `retry_after`), 503 `temporarily_unavailable` (+ `retry_after`: the database
is unreachable, accounts/core/outage.py). Services raise Django's ValidationError, PermissionDenied
and DoesNotExist; they are mapped here so views never translate errors by hand.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from accounts.core import outage
from accounts.core.authentication import BearerAuthentication, BearerTokenInvalid
from accounts.core.bearer import InvalidToken
from accounts.core.permissions import Role
from accounts.core.principal import MissingPermission, Principal

REALM = BearerAuthentication.realm


def _error(
    status: int, code: str, description: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    set_rollback()
    body = {"error": code, "error_description": description, **extra}
    return Response(body, status=status, headers=headers)


def _field_errors(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            ("non_field_errors" if key == NON_FIELD_ERRORS else key): [str(m) for m in _as_list(value)]
            for key, value in detail.items()
        }
    return {"non_field_errors": [str(m) for m in _as_list(detail)]}


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _as_list(v)]
    return [m for item in value for m in _as_list(item)] if isinstance(value, list) else [value]


def _forbidden(exc: MissingPermission, principal: Principal | None) -> Response:
    scope = exc.permission.value
    if principal is not None and principal.scopes is not None and scope not in principal.scopes:
        # RFC 6750 §3.1: the token lacks a scope; a new key with that scope would do.
        return _error(
            403,
            "insufficient_scope",
            _("This API key lacks the scope “%(scope)s”.") % {"scope": scope},
            headers={
                "WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'
            },
            scope=scope,
        )
    role = Role(principal.role).label if principal is not None else ""
    return _error(
        403,
        "forbidden",
        _("The member this key acts for (role: %(role)s) is not allowed to do this (%(permission)s).")
        % {"role": role, "permission": scope},
        permission=scope,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every handled error in the one shape above."""
    request = context.get("request")
    if outage.is_outage(exc):
        # First, and without `request.auth`: reading it again would authenticate again, in the
        # database that just failed.
        response = _error(
            503,
            outage.ERROR_CODE,
            outage.description(),
            headers={"Retry-After": str(outage.RETRY_AFTER), "Cache-Control": "no-store"},
            retry_after=outage.RETRY_AFTER,
        )
        if request is not None:
            # Django's request, as its handler logs it.
            outage.log_request_outage(
                request=getattr(request, "_request", request), response=response, error=exc
            )
        return response
    if isinstance(exc, BearerTokenInvalid):
        # The same status, header and body whichever way the token is wrong.
        return _error(
            401,
            "invalid_token",
            str(InvalidToken.description),
            headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'},
        )
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return _error(
            401,
            "unauthorized",
            _("Send an API key in the Authorization header: “Authorization: Bearer sk-…”."),
            headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'},
        )
    if isinstance(exc, MissingPermission):
        # Raised after authentication succeeded: `request.auth` is known, reading it costs nothing.
        principal = getattr(request, "auth", None) if request is not None else None
        return _forbidden(exc, principal if isinstance(principal, Principal) else None)
    if isinstance(exc, (PermissionDenied, exceptions.PermissionDenied)):
        return _error(403, "forbidden", str(exc) or _("You are not allowed to do this."))
    if isinstance(exc, (ObjectDoesNotExist, Http404, exceptions.NotFound)):
        # Missing, and another organization's, are the same answer.
        return _error(404, "not_found", _("Not found."))
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return _error(400, "invalid_request", _("Some fields are not valid."), fields=_field_errors(detail))
    if isinstance(exc, exceptions.ValidationError):
        return _error(
            400, "invalid_request", _("Some fields are not valid."), fields=_field_errors(exc.detail)
        )
    if isinstance(exc, exceptions.Throttled):
        wait = max(1, math.ceil(getattr(exc, "wait", None) or 1))
        return _error(
            429,
            "rate_limited",
            ngettext(
                "Too many requests with this API key. Retry in %(seconds)s second.",
                "Too many requests with this API key. Retry in %(seconds)s seconds.",
                wait,
            )
            % {"seconds": wait},
            headers={"Retry-After": str(wait)},
            retry_after=wait,
        )
    if isinstance(exc, exceptions.ParseError):
        return _error(400, "invalid_request", str(exc.detail))
    if isinstance(exc, exceptions.APIException):
        # 405, 406, 415 and malformed JSON (400): DRF's code and message.
        return _error(exc.status_code, str(exc.default_code), str(exc.detail))
    return None

"""Dynamic client registration (RFC 7591): anonymous, rate-limited, and strict about what it accepts.

django-oauth-toolkit registers whatever it is given; a registration that the token endpoint would
refuse later (a grant type Gatehouse does not serve), a name that is not a string, or a redirect URI
with credentials in it is refused here with RFC 7591's `invalid_client_metadata` or
`invalid_redirect_uri`, before DOT sees it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views.dynamic_client_registration import DynamicClientRegistrationView

from accounts.core.permissions import SCOPE_ORDER
from accounts.core.ratelimit import ip_key
from accounts.core.web import client_ip
from accounts.oauth.endpoints import GRANT_TYPES, rate_limited
from accounts.oauth.models import OAuthApplication, redirect_uri_problem

logger = logging.getLogger(__name__)

RESPONSE_TYPES = ("code",)
STRING_FIELDS = ("client_name", "client_uri", "logo_uri", "tos_uri", "policy_uri", "scope", "software_id")
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
MAX_NAME_LENGTH = 255


def client_metadata_problem(metadata: Any) -> tuple[str, str] | None:
    """Why a registration request cannot be accepted, as (RFC 7591 error code, description), or None."""
    if not isinstance(metadata, dict):
        return "invalid_client_metadata", _("The request body must be a JSON object.")
    for field in STRING_FIELDS:
        value = metadata.get(field)
        if field in metadata and (not isinstance(value, str) or "\x00" in value):
            return "invalid_client_metadata", _("%(field)s must be a string.") % {"field": field}
    if len(metadata.get("client_name") or "") > MAX_NAME_LENGTH:
        return "invalid_client_metadata", ngettext(
            "client_name is longer than %(n)d character.",
            "client_name is longer than %(n)d characters.",
            MAX_NAME_LENGTH,
        ) % {"n": MAX_NAME_LENGTH}
    uris = metadata.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(uri, str) for uri in uris):
        return "invalid_redirect_uri", _("redirect_uris must be a non-empty list of URLs.")
    if len(uris) > MAX_REDIRECT_URIS or any(len(uri) > MAX_URI_LENGTH or "\x00" in uri for uri in uris):
        return "invalid_redirect_uri", _("redirect_uris holds too many or too long URLs.")
    problems = [problem for problem in map(redirect_uri_problem, uris) if problem]
    if problems:
        return "invalid_redirect_uri", " ".join(problems)
    for field, supported in (("grant_types", GRANT_TYPES), ("response_types", RESPONSE_TYPES)):
        values = metadata.get(field, list(supported[:1]))
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return "invalid_client_metadata", _("%(field)s must be a list of strings.") % {"field": field}
        unsupported = sorted(set(values) - set(supported))
        if unsupported:
            return "invalid_client_metadata", _(
                "This server does not support %(field)s %(values)s; it supports %(supported)s."
            ) % {"field": field, "values": ", ".join(unsupported), "supported": ", ".join(supported)}
    method = metadata.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in oauth2_settings.OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED:
        return "invalid_client_metadata", _("token_endpoint_auth_method %(method)s is not supported.") % {
            "method": str(method)[:50]
        }
    return None


class RegisterView(DynamicClientRegistrationView):
    """RFC 7591 registration, anonymous and rate-limited per IP, with Gatehouse's redirect policy."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limited = rate_limited(
            scope="oauth-register",
            key=ip_key(request),
            rate=settings.OAUTH_DCR_RATE,
            description=_("Too many registrations; try again later."),
        )
        if limited:
            return limited
        try:
            metadata = json.loads(request.body)
        except (ValueError, RecursionError):
            metadata = None
        problem = client_metadata_problem(metadata)
        if problem is not None:
            error, description = problem
            return JsonResponse({"error": error, "error_description": description}, status=400)
        response = super().post(request, *args, **kwargs)
        if response.status_code != 201:
            return response
        return self.complete(request, response, metadata)

    def complete(
        self, request: HttpRequest, response: HttpResponse, metadata: dict[str, Any]
    ) -> HttpResponse:
        """DOT's answer, completed as RFC 7591 §3.2.1 requires."""
        data = json.loads(response.content)
        application = OAuthApplication.objects.get(client_id=data["client_id"])
        # The issue time, the secret's expiry (0 = never) when a secret is issued, and the auth
        # method the client asked for (DOT always answers client_secret_basic).
        data["client_id_issued_at"] = int(application.created.timestamp())
        if "client_secret" in data:
            data["client_secret_expires_at"] = 0
            data["token_endpoint_auth_method"] = metadata.get(
                "token_endpoint_auth_method", "client_secret_basic"
            )
        data["response_types"] = list(RESPONSE_TYPES)
        scopes = [s for s in str(metadata.get("scope", "")).split() if s in SCOPE_ORDER]
        if scopes:
            data["scope"] = " ".join(scopes)
        logger.info(
            "OAuth client registered: %s (%s) from %s",
            application.client_id,
            application.name or "unnamed",
            client_ip(request),
        )
        return JsonResponse(data, status=201)

"""Token introspection (RFC 7662), answered only for the token's own client or a trusted resource server.

django-oauth-toolkit's view tells any authenticated client about any token, and registration is
open: anyone could register a confidential client and learn whose token they hold, its scopes and
its expiry. RFC 7662 §4 leaves the policy to the server; Gatehouse's is that a client may introspect
its own tokens, and a resource server only if the operator lists it in OAUTH_INTROSPECTION_CLIENTS.
Any other token is `{"active": false}`, the same answer as a token that does not exist. Only client
credentials authenticate here (HTTP Basic or the form, RFC 6749 §2.3.1), checked by DOT's validator.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.views import IntrospectTokenView
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request as OAuthlibRequest

from accounts.oauth.models import OAuthAccessToken, OAuthApplication
from accounts.oauth.tokens import scope_of_presented_secret, token_checksum


def may_introspect(*, client: OAuthApplication, token: str) -> bool:
    """Whether this (authenticated) client may learn about this access token."""
    if client.client_id in settings.OAUTH_INTROSPECTION_CLIENTS:
        return True
    issued_to = (
        OAuthAccessToken.objects.filter(token_checksum=token_checksum(token))
        .values_list("application_id", flat=True)
        .first()
    )
    return issued_to == client.pk


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(OAuthLibMixin, View):
    """POST only (RFC 7662 §2.1): an authenticated client, a token, DOT's answer behind our policy."""

    http_method_names = ["post"]

    def authenticated_client(self, request: HttpRequest) -> OAuthApplication | None:
        core = self.get_oauthlib_core()
        oauthlib_request = OAuthlibRequest(
            request.build_absolute_uri(),
            http_method="POST",
            body=urlencode(core.extract_body(request)),
            headers=core.extract_headers(request),
        )
        if not core.server.request_validator.authenticate_client(oauthlib_request):
            return None
        client: OAuthApplication = oauthlib_request.client
        return client

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client = self.authenticated_client(request)
        if client is None:
            response = JsonResponse({"error": "invalid_client"}, status=401)
            response["WWW-Authenticate"] = 'Basic realm="Gatehouse"'
            return response
        token = request.POST.get("token")
        if not token:
            return JsonResponse(
                {"error": "invalid_request", "error_description": "token is missing."}, status=400
            )
        with scope_of_presented_secret(request):
            if not may_introspect(client=client, token=token):
                return JsonResponse({"active": False})
            return IntrospectTokenView.get_token_response(token)

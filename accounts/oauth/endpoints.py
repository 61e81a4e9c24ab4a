"""The OAuth authorization server's endpoints: consent, token, registration, metadata.

DOT does the protocol; these subclasses add what Gatehouse needs (docs/oauth.md): the consent page
with its organization picker (never skipped, whatever `approval_prompt` says), resource binding,
an RFC 7591-complete and rate-limited registration endpoint, and metadata that advertises only what
works.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView, OAuthServerMetadataView
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error

from accounts.core.permissions import SCOPE_ORDER, TOKEN_SCOPES
from accounts.core.ratelimit import hit, ip_key
from accounts.core.secrecy import token_digest
from accounts.core.web import add_service_errors, client_ip, signed_in_user, user_agent
from accounts.oauth.applications import app_domain, app_is_loopback, app_is_verified, app_label
from accounts.oauth.forms import ConsentForm
from accounts.oauth.models import OAuthApplication
from accounts.oauth.selectors import consent_organizations, consent_projects
from accounts.oauth.services import consent_allow, consent_record_denied, consent_validate
from accounts.oauth.tokens import scope_of_presented_secret

logger = logging.getLogger(__name__)


SCOPE_NAMES = frozenset(SCOPE_ORDER)
# The consent form carries the validated authorization request, signed: what a POST may grant.
CONSENT_SALT = "accounts.oauth.consent"
CONSENT_MAX_AGE = 30 * 60
# The grants the token endpoint serves (GatehouseServer); registration refuses the others.
GRANT_TYPES = ("authorization_code", "refresh_token")


def rate_limited(
    *, scope: str, key: str, rate: str, description: str, count: bool = True
) -> HttpResponse | None:
    """Count the request (accounts/core/ratelimit.py); over `rate`, the JSON 429 to send, with Retry-After."""
    retry_after = hit(scope=scope, key=key, rate=rate, count=count)
    if retry_after is None:
        return None
    response = JsonResponse({"error": "rate_limited", "error_description": description}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _token_grant(request: HttpRequest) -> str:
    """What a token request is counted against: the grant it presents (its code or refresh token).

    One connection's refreshes must never spend another's limit, even when a hosted client refreshes
    for many organizations from the same address. A request presenting neither counts against its
    client and address.
    """
    grant = request.POST.get("refresh_token") or request.POST.get("code")
    if grant:
        return "grant:" + token_digest(grant)
    return f"client:{token_digest(requesting_client_id(request))} {client_ip(request) or ''}"


def requesting_client_id(request: HttpRequest) -> str:
    """The client a token-endpoint request names: its form field, or HTTP Basic (RFC 6749 §2.3.1).

    Named, not authenticated: only trust it once DOT has authenticated the client.
    """
    client_id = request.POST.get("client_id", "")
    scheme, _sep, credentials = request.headers.get("Authorization", "").partition(" ")
    if not client_id and scheme.lower() == "basic":
        try:
            client_id = unquote_plus(base64.b64decode(credentials, validate=True).decode().partition(":")[0])
        except (binascii.Error, UnicodeDecodeError):
            client_id = ""
    return client_id


class ConsentView(AuthorizationView):
    """GET shows the consent page (or refuses the request); POST allows or denies, with CSRF."""

    template_name = "oauth2_provider/authorize.html"
    form_class = ConsentForm

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        organizations = consent_organizations(user=signed_in_user(self.request))
        kwargs.update(
            organizations=organizations,
            projects=consent_projects(organizations=organizations),
            requested_scopes=self.requested_scopes(),
        )
        return kwargs

    def requested_scopes(self) -> list[str]:
        return [s for s in self.oauth2_data.get("scopes", []) if s in SCOPE_NAMES]

    def signed_request(self) -> dict[str, Any] | None:
        """The authorization request as the GET validated it, from the form's signed field; None if
        it is missing, forged or older than CONSENT_MAX_AGE. The page's other hidden fields are
        only what DOT's form needs to render: a POST never trusts them."""
        try:
            data = signing.loads(
                self.request.POST.get("authorization", ""), salt=CONSENT_SALT, max_age=CONSENT_MAX_AGE
            )
        except signing.BadSignature:  # SignatureExpired included
            return None
        return data if isinstance(data, dict) else None

    def _error(self, error: str, description: str, credentials: dict[str, Any]) -> OAuthToolkitError:
        return OAuthToolkitError(
            error=CustomOAuth2Error(error=error, description=description, state=credentials.get("state")),
            redirect_uri=credentials["redirect_uri"],
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Not DOT's get(): no skip_authorization and no `approval_prompt=auto` shortcut, because
        # a token is only ever issued for an organization the person picks on this page.
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        application = OAuthApplication.objects.get(client_id=credentials["client_id"])
        if "none" in request.GET.get("prompt", "").split():
            return self.error_response(
                self._error("consent_required", "This server always asks for consent.", credentials),
                application,
            )
        resources = request.GET.getlist("resource")
        for resource in resources:
            if resource != settings.MCP_RESOURCE_URL:
                refusal = self._error(
                    "invalid_target",
                    f"Unknown resource {resource!r}; tokens are issued for {settings.MCP_RESOURCE_URL} only.",
                    credentials,
                )
                return self.error_response(refusal, application)
        self.oauth2_data = {
            "scopes": scopes,
            "client_id": credentials["client_id"],
            "redirect_uri": credentials["redirect_uri"],
            "response_type": credentials["response_type"],
            "state": credentials.get("state"),
            "code_challenge": credentials.get("code_challenge"),
            "code_challenge_method": credentials.get("code_challenge_method"),
            "resource": " ".join(resources) or settings.MCP_RESOURCE_URL,
        }
        self.oauth2_data["authorization"] = signing.dumps(self.oauth2_data, salt=CONSENT_SALT, compress=True)
        return self.render_consent(self.get_form(), application, redirect_uri=credentials["redirect_uri"])

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()
        initial["scope"] = " ".join(self.oauth2_data.get("scopes", []))
        initial["resource"] = self.oauth2_data.get("resource")
        initial["authorization"] = self.oauth2_data.get("authorization")
        return initial

    def render_consent(
        self, form: ConsentForm, application: OAuthApplication, *, redirect_uri: str, status: int = 200
    ) -> HttpResponse:
        here = self.request.get_full_path()
        login = reverse("accounts:login") + "?" + urlencode({"next": here})
        context = self.get_context_data(
            form=form,
            application=application,
            app_label=app_label(application),
            app_domain=app_domain(application),
            app_verified=app_is_verified(application),
            app_loopback=app_is_loopback(application),
            redirect_host=redirect_uri.split("://", 1)[-1].split("/", 1)[0],
            redirect_scheme=redirect_uri.split("://", 1)[0] if "://" in redirect_uri else "",
            requested_scopes=[p for p in TOKEN_SCOPES if p.value in self.requested_scopes()],
            has_organizations=form.has_organizations,
            switch_account_next=login,
            create_org_url=reverse("accounts:org_create") + "?" + urlencode({"next": here}),
        )
        return self.render_to_response(context, status=status)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        signed = self.signed_request()
        application = (
            OAuthApplication.objects.filter(client_id=signed["client_id"]).first()
            if signed is not None
            else None
        )
        if (
            signed is None
            or application is None
            or not application.redirect_uri_allowed(signed["redirect_uri"])
        ):
            # A forged or stale form: never redirect anywhere, nor grant anything, on its word.
            return self.render_to_response({"error": {"error": "invalid_request"}}, status=400)
        self.oauth2_data = signed
        form = self.get_form()
        redirect_uri = signed["redirect_uri"]
        credentials: dict[str, Any] = {
            "client_id": application.client_id,
            "redirect_uri": redirect_uri,
            "response_type": signed["response_type"],
            "state": signed.get("state") or None,
        }
        if "allow" not in request.POST:
            return self.deny(application, credentials)
        if not form.is_valid():
            return self.render_consent(form, application, redirect_uri=redirect_uri)
        try:
            choice = consent_validate(
                user=signed_in_user(request),
                org_slug=form.cleaned_data["organization"],
                project_slug=form.cleaned_data["project"],
                requested=self.requested_scopes(),
                chosen=form.cleaned_data["scopes"],
                tool_policy=form.cleaned_data["tool_policy"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.render_consent(form, application, redirect_uri=redirect_uri)
        for key in ("code_challenge", "code_challenge_method"):
            if signed.get(key):
                credentials[key] = signed[key]
        credentials["resource"] = (signed.get("resource") or settings.MCP_RESOURCE_URL).split()
        credentials["organization_id"] = choice.organization.pk
        credentials["project_id"] = choice.project.pk if choice.project else None
        credentials["tool_policy"] = choice.tool_policy.to_json()
        try:
            uri, _headers, _body, _status = consent_allow(
                user=signed_in_user(request),
                choice=choice,
                application=application,
                ip=client_ip(request),
                user_agent=user_agent(request),
                issue=lambda: self.create_authorization_response(
                    request=request, scopes=" ".join(choice.scopes), credentials=credentials, allow=True
                ),
            )
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        return self.redirect(uri, application)

    def deny(self, application: OAuthApplication, credentials: dict[str, Any]) -> HttpResponse:
        consent_record_denied(
            user=signed_in_user(self.request),
            org_slug=self.request.POST.get("organization", ""),
            application=application,
            ip=client_ip(self.request),
            user_agent=user_agent(self.request),
        )
        try:
            self.create_authorization_response(
                request=self.request, scopes="", credentials=credentials, allow=False
            )
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        return self.render_to_response({"error": {"error": "access_denied"}}, status=400)  # pragma: no cover

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        """Every answer this view sends back to the client names the issuer (RFC 9207 §2): DOT adds
        `iss` to a granted code, but not to an error such as a denial."""
        parts = urlsplit(redirect_to)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if parts.scheme and not parts.fragment and all(name != "iss" for name, _value in query):
            issuer = oauth2_settings.oauth2_authorization_server_issuer(self.request)
            redirect_to = urlunsplit(parts._replace(query=urlencode([*query, ("iss", issuer)])))
        return super().redirect(redirect_to, application)

    # DOT's AuthorizationView already adds `application` to OAuthLibMixin.error_response's signature.
    def error_response(  # type: ignore[override]
        self, error: OAuthToolkitError, application: Any, **kwargs: Any
    ) -> HttpResponse:
        response = super().error_response(error, application, **kwargs)
        client_id = self.request.GET.get("client_id", "")
        if isinstance(response, TemplateResponse) and client_id.startswith("https://"):
            # A Client ID Metadata Document that could not be fetched or failed validation.
            response.context_data["cimd_client_id"] = client_id  # type: ignore[index]
        return response


class TokenView(dot_views.TokenView):
    """DOT's token endpoint; every answer is JSON and never cached (RFC 6749 §5.1), errors included."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grant_type = request.POST.get("grant_type", "")
        if grant_type not in GRANT_TYPES:
            # RFC 6749 §5.2. Said here, before DOT, which has paths of its own for other grants.
            error = "unsupported_grant_type" if grant_type else "invalid_request"
            return self.no_store(JsonResponse({"error": error}, status=400))
        description = _("Too many token requests; try again later.")
        ip = ip_key(request)

        def failures(*, count: bool) -> HttpResponse | None:
            rate = settings.OAUTH_TOKEN_FAILURE_RATE
            return rate_limited(
                scope="oauth-token-failures", key=ip, rate=rate, description=description, count=count
            )

        limited = failures(count=False) or rate_limited(
            scope="oauth-token",
            key=_token_grant(request),
            rate=settings.OAUTH_TOKEN_RATE,
            description=description,
        )
        if limited is not None:
            response = limited
        else:
            with scope_of_presented_secret(request):
                response = super().post(request, *args, **kwargs)
        if response.status_code in (400, 401) and limited is None:
            # A refused grant (guessed, stale, replayed) counts against its address; a valid one never
            # spends a bucket shared with other organizations.
            failures(count=True)
        # oauthlib omits the headers when an error is raised while saving (e.g. invalid_target).
        if response.content.startswith(b"{"):
            response["Content-Type"] = "application/json"
        return self.no_store(response)

    @staticmethod
    def no_store(response: HttpResponse) -> HttpResponse:
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


class RevokeTokenView(dot_views.RevokeTokenView):
    """DOT's revocation endpoint (RFC 7009), in the scope of the token it is given."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with scope_of_presented_secret(request):
            return super().post(request, *args, **kwargs)  # type: ignore[no-any-return]


class MetadataView(OAuthServerMetadataView):
    """RFC 8414 metadata: DOT's, minus what Gatehouse does not accept."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        # Introspection is for confidential clients and resource servers: a public client cannot call it.
        if "introspection_endpoint_auth_methods_supported" in data:
            data["introspection_endpoint_auth_methods_supported"] = [
                m for m in data["introspection_endpoint_auth_methods_supported"] if m != "none"
            ]
        result = JsonResponse(data)
        result["Access-Control-Allow-Origin"] = "*"
        return result

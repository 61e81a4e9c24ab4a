"""django-oauth-toolkit, configured for Gatehouse: S256-only server, org binding, resource binding, retries.

What this module adds to DOT 3.4.1 (docs/oauth.md has the whole picture):

- `GatehouseServer`: only the authorization-code and refresh-token grants, and PKCE S256 only, so a
  `plain` or missing method is refused by the first GET of /oauth/authorize/, before any consent page.
- `GatehouseOAuth2Validator`: stores the organization (and project) chosen on the consent page on the
  grant and copies it to every access and refresh token, across every refresh; binds every token to
  the MCP resource (RFC 8707); and replaces DOT's refresh grace period, which cannot be combined
  with hashed token storage, with a short retry window (see `validate_refresh_token`).

The private DOT methods overridden here (`_create_*`, `_save_bearer_token`) must be re-read on every
DOT upgrade; tests/accounts/oauth pins their behaviour.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2 import Server
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256

from accounts.core.client import meta_client_ip, meta_user_agent
from accounts.core.permissions import SCOPE_ORDER, TOKEN_SCOPES
from accounts.oauth.tokens import token_checksum


class TokenScopes(BaseScopes):
    """OAuth scopes are exactly the bearer scopes of accounts.permissions, labelled in plain words."""

    def get_all_scopes(self) -> dict[str, str]:
        return {scope.value: str(scope.label) for scope in TOKEN_SCOPES}

    def get_available_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any):
        return list(SCOPE_ORDER)

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any):
        # A client asking for nothing is offered everything; the consent page caps it by role.
        return list(SCOPE_ORDER)


class GatehouseServer(Server):
    """oauthlib's server with only what Gatehouse supports: code + PKCE S256, and refresh."""

    def __init__(self, request_validator: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(request_validator, *args, **kwargs)
        # oauthlib defaults a missing method to `plain` and accepts it at the authorization GET; DOT
        # only refuses `plain` once the user has clicked Allow. Refuse both before the consent page.
        self.auth_grant._code_challenge_methods = {"S256": code_challenge_method_s256}
        self._response_types = {"code": self.auth_grant}
        self._grant_types = {"authorization_code": self.auth_grant, "refresh_token": self.refresh_grant}


def _retry_window() -> timedelta:
    return timedelta(seconds=settings.OAUTH_REFRESH_RETRY_SECONDS)


class GatehouseOAuth2Validator(OAuth2Validator):
    """DOT's validator plus organization binding, resource binding and the refresh retry window."""

    # Authorization codes

    def validate_authorization_resource(self, request: Any) -> None:
        """Every grant is for the MCP resource: none given means it; anything else is invalid_target."""
        resources = list(getattr(request, "resource", None) or []) or [settings.MCP_RESOURCE_URL]
        for resource in resources:
            if resource != settings.MCP_RESOURCE_URL:
                raise errors.CustomOAuth2Error(
                    error="invalid_target",
                    description=f"Unknown resource {resource!r}; this server issues tokens for "
                    f"{settings.MCP_RESOURCE_URL} only.",
                    request=request,
                )
        request.resource = resources

    def _create_authorization_code(self, request: Any, code: dict, expires: Any = None) -> Any:
        # The consent view passes the organization in the credentials (oauthlib copies them onto the
        # request); without one there is nothing a token could act on.
        organization_id = getattr(request, "organization_id", None)
        if organization_id is None:
            raise errors.AccessDeniedError(request=request)
        self.validate_authorization_resource(request)
        grant = super()._create_authorization_code(request, code, expires)
        grant.organization_id = organization_id
        grant.project_id = getattr(request, "project_id", None)
        grant.tool_policy = getattr(request, "tool_policy", None) or {}
        grant.save(update_fields=["organization", "project", "tool_policy"])
        return grant

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any):
        grant = get_grant_model().objects.filter(code=code, application=client).first()
        if grant is not None and grant.used_at is not None:
            # The code was exchanged before: someone else may hold the tokens it gave. RFC 6749
            # §4.1.2 says revoke them (and DOT would only have said invalid_grant).
            self._revoke_for_code_reuse(grant, request)
            return False
        if grant is None or grant.is_expired() or grant.organization_id is None:
            return False
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        request.organization_id = grant.organization_id
        request.project_id = grant.project_id
        request.tool_policy = grant.tool_policy
        return True

    # Tokens: the organization, project and tool policy go from the grant (or refresh token) to each row.

    def _create_access_token(self, expires: Any, request: Any, token: dict, source_refresh_token: Any = None):
        access_token = get_access_token_model()(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),
            organization_id=getattr(request, "organization_id", None),
            project_id=getattr(request, "project_id", None),
            tool_policy=getattr(request, "tool_policy", None) or {},
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        return access_token

    def _create_refresh_token(
        self, request: Any, refresh_token_code: str, access_token: Any, previous_refresh_token: Any
    ):
        refresh_token = get_refresh_token_model()(
            user=request.user,
            application=request.client,
            access_token=access_token,
            # Rotation keeps the family, so a replay can revoke every descendant at once.
            token_family=previous_refresh_token.token_family if previous_refresh_token else None,
            resource=getattr(request, "resource", []),
            organization_id=getattr(request, "organization_id", None),
            project_id=getattr(request, "project_id", None),
            tool_policy=getattr(request, "tool_policy", None) or {},
        )
        if refresh_token.token_family is None:
            refresh_token.token_family = uuid.uuid4()
        self._set_token_value(refresh_token, refresh_token_code)
        refresh_token.save()
        if request.grant_type == "authorization_code":
            # The family this code started: what a replay of the code revokes.
            get_grant_model().objects.filter(code=request.code, application=request.client).update(
                token_family=refresh_token.token_family
            )
        return refresh_token

    # Refresh: rotation, the retry window and reuse detection.
    #
    # DOT's answer to a lost refresh response is a grace period in which the rotated token returns
    # the *same* new pair again; that needs the plaintext of the new pair, so DOT forbids it with
    # hashed storage (oauth2_provider.E001). Gatehouse keeps hashes only and does this instead:
    #
    # - A rotated refresh token presented again within OAUTH_REFRESH_RETRY_SECONDS of its rotation,
    #   while its successor is still alive, is a benign retry (a response lost on the way, or two
    #   windows of one client racing): it gets a *fresh* pair in the same family. The successor
    #   stays valid, so whichever response the client kept works.
    # - Presented later, or after its successor was itself rotated or revoked, it is a replay: the
    #   whole family is revoked (every refresh and access token descending from the consent) and
    #   `oauth.refresh_reuse_detected` is audited in the connection's organization.
    # - A token revoked on purpose (Connected apps, RFC 7009, leaving the organization) has no
    #   successor, so it is never "retried".

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ):
        RefreshToken = get_refresh_token_model()
        rt = (
            RefreshToken.objects.filter(token_checksum=token_checksum(refresh_token))
            .select_related("access_token", "application", "organization", "user")
            .order_by(F("revoked").desc(nulls_first=True))
            .first()
        )
        if rt is None or rt.application_id != getattr(client, "pk", None):
            return False
        if rt.revoked is not None:
            successor = self._retry_successor(rt)
            if successor is None:
                self._revoke_family_for_reuse(rt, request)
                return False
            request.gatehouse_retry_of = rt
        elif rt.access_token is None:
            return False  # an orphan: its access token was revoked out of band
        else:
            expire = timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS)
            if rt.access_token.expires + expire <= timezone.now():
                return False
        if rt.organization is None or not self._is_member(rt.user_id, rt.organization):
            return False
        request.user = rt.user
        request.refresh_token = refresh_token
        request.refresh_token_instance = rt
        request.organization_id = rt.organization_id
        request.project_id = rt.project_id
        request.tool_policy = rt.tool_policy
        return True

    def _retry_successor(self, rt: Any) -> Any:
        """The live access token minted from `rt` if `rt` was rotated within the retry window, else None."""
        if rt.revoked <= timezone.now() - _retry_window():
            return None
        return (
            get_access_token_model()
            .objects.filter(source_refresh_token=rt, expires__gt=timezone.now())
            .only("pk", "scope")
            .first()
        )

    def _is_member(self, user_id: int, organization: Any) -> bool:
        from accounts.orgs.models import Membership

        return Membership.objects.for_org(organization).filter(user_id=user_id).exists()

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any
    ):
        """Mark the code used (DOT deletes it), so that a second use is recognised as a replay."""
        used = (
            get_grant_model()
            .objects.filter(code=code, application=request.client, used_at__isnull=True)
            .update(used_at=timezone.now())
        )
        if not used:
            raise errors.InvalidGrantError(request=request)

    def _revoke_for_code_reuse(self, grant: Any, request: Any) -> None:
        from accounts.oauth.services import code_reuse_detected

        headers = getattr(request, "headers", None) or {}
        code_reuse_detected(grant=grant, ip=meta_client_ip(headers), user_agent=meta_user_agent(headers))

    def _revoke_family_for_reuse(self, rt: Any, request: Any) -> None:
        from accounts.oauth.services import refresh_reuse_detected

        headers = getattr(request, "headers", None) or {}
        refresh_reuse_detected(
            refresh_token=rt,
            ip=meta_client_ip(headers),
            user_agent=meta_user_agent(headers),
        )

    def get_original_scopes(self, refresh_token: str, request: Any, *args: Any, **kwargs: Any):
        rt = request.refresh_token_instance
        if rt.access_token_id is None:
            access_token = get_access_token_model().objects.filter(source_refresh_token_id=rt.pk).first()
            return access_token.scope.split() if access_token else []
        return rt.access_token.scope.split()

    def _save_bearer_token(self, token: dict, request: Any, *args: Any, **kwargs: Any) -> None:
        retried = getattr(request, "gatehouse_retry_of", None)
        current = getattr(request, "refresh_token_instance", None)
        if retried is None and current is not None and request.grant_type == "refresh_token":
            # Two requests raced with one live token: the loser waits for the winner's row lock here
            # and then finds the token rotated. That is the same benign retry as above.
            locked = get_refresh_token_model().objects.select_for_update().get(pk=current.pk)
            if locked.revoked is not None:
                if self._retry_successor(locked) is None:  # strict mode (window 0), or revoked meanwhile
                    raise errors.InvalidGrantError(request=request)
                retried = locked
                request.refresh_token_instance = locked
        if retried is None:
            return super()._save_bearer_token(token, request, *args, **kwargs)
        # A benign retry: a fresh, independent pair in the same family (DOT's path would try to hand
        # back the successor's plaintext, which hashed storage no longer has).
        self._check_and_set_request_resource(request)
        expires = timezone.now() + timedelta(
            seconds=token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
        )
        access_token = self._create_access_token(expires, request, token)
        self._create_refresh_token(request, token["refresh_token"], access_token, retried)
        return None

    def revoke_token(self, token: str, token_type_hint: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        """RFC 7009: DOT revokes (only the calling client's own tokens); Gatehouse audits it."""
        from accounts.oauth.services import token_revoked_by_client

        if getattr(request.client, "pk", None) is None:
            return  # DOT does nothing either without an authenticated client
        headers = getattr(request, "headers", None) or {}
        token_revoked_by_client(
            checksum=token_checksum(token),
            application=request.client,
            revoke=lambda: super(GatehouseOAuth2Validator, self).revoke_token(
                token, token_type_hint, request, *args, **kwargs
            ),
            ip=meta_client_ip(headers),
            user_agent=meta_user_agent(headers),
        )

    def save_bearer_token(self, token: dict, request: Any, *args: Any, **kwargs: Any) -> None:
        with transaction.atomic():
            return self._save_bearer_token(token, request, *args, **kwargs)

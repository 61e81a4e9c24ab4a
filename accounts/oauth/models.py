"""django-oauth-toolkit's five models, swapped in here so that grants and tokens carry the organization.

The organization a user picks on the consent page is stored on the grant and copied to every access
and refresh token issued from it, so a token resolves to exactly one tenant. It is nullable because
dynamic-registration access tokens belong to no user and no organization; the resource side refuses
a token without one.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from oauth2_provider import models as oauth_models
from oauth2_provider.settings import oauth2_settings

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def redirect_uri_problem(uri: str) -> str | None:
    """Why a redirect URI may not be registered, or None: https anywhere, http on loopback only,
    custom schemes from ALLOWED_REDIRECT_URI_SCHEMES (RFC 8252), never a fragment."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return _("%(uri)s is not a valid URL.") % {"uri": uri}
    scheme = parts.scheme.lower()
    if not scheme:
        return _("%(uri)s has no scheme; use https://, or http:// on 127.0.0.1, [::1] or localhost.") % {
            "uri": uri
        }
    if parts.fragment:
        return _("%(uri)s has a fragment (#…); redirect URIs must not.") % {"uri": uri}
    if "@" in parts.netloc:
        # https://user:pass@host/: credentials in a URL, and a classic way to disguise the real host.
        return _("%(uri)s has a user name or password in it; redirect URIs must not.") % {"uri": uri}
    if scheme == "http":
        if parts.hostname not in LOOPBACK_HOSTS:
            return _(
                "%(uri)s uses http on a host that is not this computer; use https, or http on "
                "127.0.0.1, [::1] or localhost (any port)."
            ) % {"uri": uri}
        return None
    if scheme == "https":
        return None if parts.hostname else _("%(uri)s has no host.") % {"uri": uri}
    if scheme not in {s.lower() for s in oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES}:
        return _("The %(scheme)s:// scheme is not allowed for redirect URIs here.") % {"scheme": scheme}
    return None


class OAuthApplication(oauth_models.AbstractApplication):
    class Meta(oauth_models.AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"

    def __str__(self) -> str:
        return self.name or self.client_id

    def clean(self) -> None:
        """DOT's checks, plus the redirect policy: allowing `http` must not allow any http host."""
        errors: dict[str, list[ValidationError]] = {}
        try:
            super().clean()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        problems = [p for p in map(redirect_uri_problem, self.redirect_uris.split()) if p]
        if problems:
            errors.setdefault("redirect_uris", []).extend(ValidationError(p) for p in problems)
        if errors:
            raise ValidationError(errors)


class OAuthGrant(oauth_models.AbstractGrant):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey(
        "accounts.Project", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The MCP tools the person let the app use (accounts/core/toolpolicy.py); {}: all the scopes allow.
    tool_policy = models.JSONField(default=dict, blank=True)
    # A code is kept once exchanged, marked used and tied to the token family it started, so that
    # presenting it again revokes that family (RFC 6749 §4.1.2). `cleartokens` deletes it on expiry.
    used_at = models.DateTimeField(null=True, blank=True)
    token_family = models.UUIDField(null=True, blank=True)

    class Meta(oauth_models.AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"


class OAuthAccessToken(oauth_models.AbstractAccessToken):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey(
        "accounts.Project", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The MCP tools the person let the app use (accounts/core/toolpolicy.py); {}: all the scopes allow.
    tool_policy = models.JSONField(default=dict, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(oauth_models.AbstractAccessToken.Meta):
        swappable = "OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL"


class OAuthRefreshToken(oauth_models.AbstractRefreshToken):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey(
        "accounts.Project", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The MCP tools the person let the app use (accounts/core/toolpolicy.py); {}: all the scopes allow.
    tool_policy = models.JSONField(default=dict, blank=True)

    class Meta(oauth_models.AbstractRefreshToken.Meta):
        swappable = "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL"


class OAuthIDToken(oauth_models.AbstractIDToken):
    class Meta(oauth_models.AbstractIDToken.Meta):
        swappable = "OAUTH2_PROVIDER_ID_TOKEN_MODEL"

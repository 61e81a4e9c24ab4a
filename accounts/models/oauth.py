"""django-oauth-toolkit's five models, swapped in here so that grants and tokens carry the organization.

The organization a user picks on the consent page is stored on the grant and copied to every access
and refresh token issued from it, so a token resolves to exactly one tenant. It is nullable because
dynamic-registration access tokens belong to no user and no organization; the resource side refuses
a token without one.
"""

from django.db import models
from oauth2_provider import models as oauth_models


class OAuthApplication(oauth_models.AbstractApplication):
    class Meta(oauth_models.AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"


class OAuthGrant(oauth_models.AbstractGrant):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey(
        "accounts.Project", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta(oauth_models.AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"


class OAuthAccessToken(oauth_models.AbstractAccessToken):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey(
        "accounts.Project", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
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

    class Meta(oauth_models.AbstractRefreshToken.Meta):
        swappable = "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL"


class OAuthIDToken(oauth_models.AbstractIDToken):
    class Meta(oauth_models.AbstractIDToken.Meta):
        swappable = "OAUTH2_PROVIDER_ID_TOKEN_MODEL"

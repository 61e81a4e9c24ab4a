from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from accounts.oauth import urls as oauth_urls
from accounts.oauth.endpoints import MetadataView


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Browsers ask for /favicon.ico on any page without an icon link (a JSON answer, an image).
    # Resolved per request: the hashed name exists only once collectstatic has run.
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("", include("accounts.urls")),
    # OAuth 2.1 authorization server (docs/oauth.md): issuer PUBLIC_URL, endpoints under /oauth/.
    path(".well-known/oauth-authorization-server", MetadataView.as_view(), name="oauth-server-metadata"),
    path("oauth/", include((oauth_urls.provider_patterns, "oauth2_provider"))),
    path("", include(oauth_urls)),
    path("orgs/<slug:org_slug>/keys/", include("apikeys.urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon),
]

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("accounts.urls")),
    path("orgs/<slug:org_slug>/keys/", include("apikeys.urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

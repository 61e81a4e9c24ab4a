from django.contrib import admin

from apikeys.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Read-only: keys are made, rolled and revoked by services (audited), never edited here."""

    list_display = (
        "name",
        "hint",
        "organization",
        "project",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("organization",)
    search_fields = ("name", "hint", "public_id", "created_by__email")
    list_select_related = ("organization", "project", "created_by")
    exclude = ("digest",)
    readonly_fields = [f.name for f in ApiKey._meta.fields if f.name != "digest"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False

"""Shapes of the REST API's requests and responses. Identifiers are slugs and public ids, never pks."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.audit.models import AuditAction
from accounts.core.principal import Channel
from accounts.core.toolpolicy import PolicyPreset, ToolMode

# Outputs


class OrganizationOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    slug = serializers.SlugField()
    name = serializers.CharField()


class UserOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    email = serializers.EmailField()
    name = serializers.CharField()


class KeyOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    hint = serializers.CharField(help_text=_("sk-… and the key's last four characters."))
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


class ToolPolicyOut(serializers.Serializer):
    preset = serializers.ChoiceField(
        choices=PolicyPreset.choices,
        help_text=_("all: everything the scopes allow; read_only: read-only tools; custom: tool by tool."),
    )
    tools = serializers.DictField(
        child=serializers.ChoiceField(choices=ToolMode.choices),
        help_text=_("Each MCP tool: allowed, approval (a person must approve each call) or hidden."),
    )


class WhoamiOut(serializers.Serializer):
    user = UserOut(help_text=_("The member the key acts for: the one who created it."))
    organization = OrganizationOut()
    role = serializers.CharField(help_text=_("That member's current role, which caps what the key can do."))
    scopes = serializers.ListField(child=serializers.CharField(), help_text=_("Scopes granted to the key."))
    effective_scopes = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("The scopes the key can use today: granted and allowed by the role."),
    )
    project = serializers.SlugField(
        allow_null=True, help_text=_("The one project the key is restricted to, if any.")
    )
    key = KeyOut()
    tool_policy = ToolPolicyOut(help_text=_("Which MCP tools the key may call."))


class CredentialOut(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.CharField()
    label = serializers.CharField(  # type: ignore[assignment]  # a field, not Field.label
        help_text=_("For an API key, its hint: sk-… and its last four characters.")
    )


class ProjectOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    slug = serializers.SlugField()
    name = serializers.CharField()
    description = serializers.CharField()
    archived = serializers.BooleanField(source="is_archived")
    archived_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ProjectListItemOut(ProjectOut):
    document_count = serializers.IntegerField()


class DocumentSummaryOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    project = serializers.SlugField(source="project.slug")
    title = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    updated_by = serializers.EmailField(source="updated_by.email", allow_null=True)


class DocumentOut(DocumentSummaryOut):
    body = serializers.CharField(help_text=_("Markdown."))
    created_by = serializers.EmailField(source="created_by.email", allow_null=True)


class MemberOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    user = UserOut()
    role = serializers.CharField()
    joined_at = serializers.DateTimeField(source="created_at")


class TargetOut(serializers.Serializer):
    type = serializers.CharField(source="target_type")
    id = serializers.CharField(source="target_id")
    label = serializers.CharField(source="target_label")  # type: ignore[assignment]


class AuditEventOut(serializers.Serializer):
    seq = serializers.IntegerField(
        allow_null=True, help_text=_("Position in the organization's hash chain; null until sealed.")
    )
    hash = serializers.CharField(
        help_text=_("SHA-256 chaining this event to the previous one; empty until sealed.")
    )
    created_at = serializers.DateTimeField()
    action = serializers.CharField()
    channel = serializers.CharField()
    actor = serializers.CharField(
        source="actor_label", help_text=_("Email of the acting person; empty for the system.")
    )
    credential = serializers.SerializerMethodField()
    project = serializers.SlugField(source="project.slug", allow_null=True)
    target = serializers.SerializerMethodField()
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    data = serializers.JSONField()  # type: ignore[assignment]  # declared fields leave the class

    @extend_schema_field(CredentialOut(allow_null=True))
    def get_credential(self, event: Any) -> dict[str, str] | None:
        if not event.credential_kind:
            return None
        return {"kind": event.credential_kind, "id": event.credential_id, "label": event.credential_label}

    @extend_schema_field(TargetOut(allow_null=True))
    def get_target(self, event: Any) -> dict[str, str] | None:
        if not event.target_type:
            return None
        return TargetOut(event).data


def page_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """The response of a cursor-paginated list of `item`, for the OpenAPI schema."""
    fields = {
        "results": item(many=True),
        "next_cursor": serializers.CharField(
            allow_null=True, help_text=_("Pass as ?cursor= for the next page.")
        ),
        "previous_cursor": serializers.CharField(allow_null=True),
    }
    return type(name, (serializers.Serializer,), fields)


DocumentPageOut = page_of(DocumentSummaryOut, "DocumentPage")
AuditEventPageOut = page_of(AuditEventOut, "AuditEventPage")


# Inputs


class ProjectCreateIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(
        max_length=50, required=False, help_text=_("Made from the name when omitted.")
    )
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ProjectUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    slug = serializers.SlugField(max_length=50, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class DocumentCreateIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(
        max_length=200_000, required=False, allow_blank=True, default="", trim_whitespace=False
    )


class DocumentUpdateIn(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    body = serializers.CharField(max_length=200_000, required=False, allow_blank=True, trim_whitespace=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(_("Send a title, a body, or both."))
        return attrs


class CursorIn(serializers.Serializer):
    cursor = serializers.CharField(required=False, max_length=512)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class DocumentQueryIn(CursorIn):
    q = serializers.CharField(required=False, max_length=200, help_text=_("Search titles and bodies."))


class ProjectQueryIn(serializers.Serializer):
    include_archived = serializers.BooleanField(required=False, default=False)


class AuditQueryIn(CursorIn):
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    project = serializers.SlugField(required=False, help_text=_("A project slug (needs projects:read)."))
    actor = serializers.EmailField(required=False, help_text=_("A member's email (needs members:read)."))
    credential = serializers.CharField(
        required=False, max_length=64, help_text=_("An API key id (key_…): what that key did.")
    )
    since = serializers.DateTimeField(required=False, help_text=_("ISO 8601; events at or after."))
    until = serializers.DateTimeField(required=False, help_text=_("ISO 8601; events before."))

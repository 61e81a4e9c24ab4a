from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.core.principal import Channel
from accounts.core.tenancy import OrgOwnedModel, OrgScopedManager, OrgScopedQuerySet


class AuditAction(models.TextChoices):
    # The value is stored and exported (stable, never translated); the label is what people read.
    ORG_CREATED = "org.created", _("Organization created")
    ORG_UPDATED = "org.updated", _("Organization updated")
    MEMBER_INVITED = "member.invited", _("Member invited")
    INVITATION_REVOKED = "member.invitation_revoked", _("Invitation revoked")
    MEMBER_JOINED = "member.joined", _("Member joined")
    MEMBER_ROLE_CHANGED = "member.role_changed", _("Member role changed")
    MEMBER_REMOVED = "member.removed", _("Member removed")
    MEMBER_LEFT = "member.left", _("Member left")
    PROJECT_CREATED = "project.created", _("Project created")
    PROJECT_UPDATED = "project.updated", _("Project updated")
    PROJECT_ARCHIVED = "project.archived", _("Project archived")
    PROJECT_UNARCHIVED = "project.unarchived", _("Project unarchived")
    DOCUMENT_CREATED = "document.created", _("Document created")
    DOCUMENT_UPDATED = "document.updated", _("Document updated")
    DOCUMENT_DELETED = "document.deleted", _("Document deleted")
    AUDIT_EXPORTED = "audit.exported", _("Audit log exported")
    APIKEY_CREATED = "apikey.created", _("API key created")
    APIKEY_ROLLED = "apikey.rolled", _("API key rolled")
    APIKEY_REVOKED = "apikey.revoked", _("API key revoked")
    APIKEY_EXPIRED = "apikey.expired", _("API key expired")
    APIKEY_TOOL_POLICY_CHANGED = "apikey.tool_policy_changed", _("API key's MCP tools changed")
    OAUTH_CLIENT_REGISTERED = "oauth.client_registered", _("OAuth app registered")
    OAUTH_CONSENT_GRANTED = "oauth.consent_granted", _("OAuth app allowed")
    OAUTH_CONSENT_DENIED = "oauth.consent_denied", _("OAuth app denied")
    OAUTH_APP_REVOKED = "oauth.app_revoked", _("OAuth app disconnected")
    OAUTH_TOOL_POLICY_CHANGED = "oauth.tool_policy_changed", _("OAuth app's MCP tools changed")
    OAUTH_REFRESH_REUSE_DETECTED = "oauth.refresh_reuse_detected", _("OAuth refresh token reused")
    OAUTH_CODE_REUSE_DETECTED = "oauth.code_reuse_detected", _("OAuth authorization code reused")
    MCP_TOOL_CALLED = "mcp.tool_called", _("MCP tool called")
    MCP_RESOURCE_READ = "mcp.resource_read", _("MCP resource read")
    MCP_PROMPT_RENDERED = "mcp.prompt_rendered", _("MCP prompt rendered")
    MCP_COMPLETION_REQUESTED = "mcp.completion_requested", _("MCP completion requested")


class AuditEventImmutable(RuntimeError):
    """An audit event was about to be changed or deleted."""


class AuditEventQuerySet(OrgScopedQuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditEventImmutable("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditEventImmutable("audit events are append-only")


class AuditEventManager(OrgScopedManager["AuditEvent"]):
    _queryset_class = AuditEventQuerySet


class AuditEvent(OrgOwnedModel):
    """One state change, written by the service that made it, in the same transaction.

    Rows are append-only. After commit, `accounts.audit.seal_pending()` gives each new row of an
    organization the next `seq` and a SHA-256 `hash` over its content and the previous row's hash,
    so an edited, removed or reordered row breaks the chain (`manage.py audit_verify`). The only
    update ever allowed is that one-time sealing of a row whose hash is still empty.
    """

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(_("action"), max_length=64)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A snapshot, so the log stays readable whatever later happens to the account.
    actor_label = models.CharField(max_length=254, blank=True)
    credential_kind = models.CharField(max_length=16, blank=True)
    credential_id = models.CharField(max_length=64, blank=True)
    credential_label = models.CharField(max_length=200, blank=True)
    project = models.ForeignKey(
        "accounts.Project", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Filled in once, after commit, by the sealer.
    seq = models.BigIntegerField(null=True, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)

    objects: ClassVar[AuditEventManager] = AuditEventManager()
    all_orgs = models.Manager.from_queryset(AuditEventQuerySet)()
    project_lookup = "project_id"

    class Meta(OrgOwnedModel.Meta):
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            # Keyset pagination of one organization's log, newest first.
            models.Index(fields=["organization", "-created_at", "-id"], name="audit_org_time"),
            models.Index(fields=["organization", "action", "-created_at"], name="audit_org_action"),
            models.Index(fields=["organization", "actor", "-created_at"], name="audit_org_actor"),
            models.Index(fields=["organization", "project", "-created_at"], name="audit_org_project"),
            models.Index(fields=["organization", "credential_id"], name="audit_org_credential"),
            # The sealer runs after every audited commit: it must find the few unsealed rows without
            # reading the organization's whole log.
            models.Index(fields=["organization", "id"], name="audit_unsealed", condition=models.Q(hash="")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "seq"],
                name="audit_unique_seq_in_org",
                condition=models.Q(seq__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} @ {self.created_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AuditEventImmutable("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditEventImmutable("audit events are append-only")


class AuditChainHead(models.Model):
    """The last sealed event of one organization's chain.

    Sealers lock this row (and only this row) for the few milliseconds it takes to hash the new
    events; it also lets `audit_verify` notice events cut off the end of the chain.
    """

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True)
    # Events up to this seq were sealed before the chain was keyed: plain SHA-256 (chain.py).
    legacy_until = models.BigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"{self.organization_id}#{self.seq}"


@dataclass(slots=True)
class NewEvent:
    """An audit event not yet saved: the content of an `AuditEvent`, by attribute name, without a model.

    Reads' events wait in the journal in this form (accounts/audit/journal.py) and are written in
    batches, already sealed (`accounts.audit.chain.seal_pending(append=…)`): a model instance per
    MCP call cost more than the rest of the journal. `to_model()` gives the row to save at once.
    """

    organization_id: int
    action: str
    channel: str
    actor_id: int | None = None
    actor_label: str = ""
    credential_kind: str = ""
    credential_id: str = ""
    credential_label: str = ""
    project_id: int | None = None
    target_type: str = ""
    target_id: str = ""
    target_label: str = ""
    ip: str | None = None
    user_agent: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=timezone.now)
    # Given by the sealer.
    seq: int | None = None
    prev_hash: str = ""
    hash: str = ""

    def to_model(self) -> AuditEvent:
        return AuditEvent(**{name: getattr(self, name) for name in self.__slots__})  # type: ignore[attr-defined]


class OwnerAccess(models.Model):
    """One use of the database owner's connection, which row-level security does not restrict.

    Migrations and the commands that must span organizations run as the owner
    (accounts/audit/owner_access.py); each run is recorded here before it starts and completed when
    it ends, so an operator can see every time the second wall was stepped over, by what, why and
    from where.
    """

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    command = models.CharField(max_length=200)
    reason = models.CharField(max_length=200)
    os_user = models.CharField(max_length=100, blank=True)
    host = models.CharField(max_length=200, blank=True)
    pid = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, blank=True)  # "ok", "error", or blank while running

    class Meta:
        verbose_name = _("owner access")
        verbose_name_plural = _("owner accesses")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.command} ({self.reason}) @ {self.started_at:%Y-%m-%d %H:%M:%S}"

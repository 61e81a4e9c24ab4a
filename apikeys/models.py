from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.core.ids import PublicIdField
from accounts.core.permissions import READ_ONLY_SCOPES, TOKEN_SCOPES
from accounts.core.tenancy import OrgOwnedModel, OrgScopedManager, OrgScopedQuerySet
from accounts.core.toolpolicy import ToolPolicy

IDLE_AFTER = timedelta(days=90)
EXPIRING_WITHIN = timedelta(days=7)


class ApiKeyStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ROLLED = "rolled", _("Rolled")  # replaced, still valid until the end of the overlap
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class ApiKeyQuerySet(OrgScopedQuerySet["ApiKey"]):
    def valid(self) -> ApiKeyQuerySet:
        """Keys that work now (active, or rolled and within their overlap): `ApiKey.is_valid_at` in SQL."""
        return self.filter(_valid_q(timezone.now()))

    def invalid(self) -> ApiKeyQuerySet:
        """Revoked and expired keys."""
        return self.exclude(_valid_q(timezone.now()))


def _valid_q(now: datetime) -> models.Q:
    # The same rule as ApiKey.status_at(): not revoked, and not past its expiry.
    return models.Q(revoked_at__isnull=True) & (
        models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
    )


class ApiKeyManager(OrgScopedManager["ApiKey"]):
    _queryset_class = ApiKeyQuerySet

    def for_org(self, org: Any) -> ApiKeyQuerySet:
        return super().for_org(org)  # type: ignore[return-value]

    def visible_to(self, principal: Any) -> ApiKeyQuerySet:
        return super().visible_to(principal)  # type: ignore[return-value]


class ApiKey(OrgOwnedModel):
    """A bearer credential (`sk-…`) for one organization, or one of its projects, with scopes.

    Only the SHA-256 `digest` and a display `hint` are stored. The key acts as the member who
    created it, capped by that member's *current* role: a creator who leaves the organization
    takes the key's access with them. A deleted project deletes its keys (never SET_NULL, which
    would widen a one-project key to every project).
    """

    public_id = PublicIdField(prefix="key")
    name = models.CharField(_("name"), max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(_("key"), max_length=16, editable=False)
    project = models.ForeignKey(
        "accounts.Project",
        verbose_name=_("project"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: every project of the organization."),
    )
    scopes = models.JSONField(_("scopes"), default=list)
    # Which MCP tools the key may call (accounts/core/toolpolicy.py); {} is "everything the scopes allow".
    tool_policy = models.JSONField(_("tool policy"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A rolled key points at its successor and keeps working until its expires_at (the overlap end).
    replaced_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    # Set once the expiry sweep has recorded `apikey.expired`, so it is recorded exactly once.
    expiry_recorded_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[ApiKeyManager] = ApiKeyManager()

    project_lookup = "project_id"

    class Meta(OrgOwnedModel.Meta):
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        indexes = [
            # The key list: a whole organization (admins) or one creator's keys (members), newest first.
            models.Index(fields=["organization", "-created_at"], name="apikey_org_recent"),
            models.Index(fields=["organization", "created_by", "-created_at"], name="apikey_org_creator"),
            # The expiry sweep only looks at keys whose expiry is still to be recorded.
            models.Index(
                fields=["expires_at"],
                name="apikey_expiry_due",
                condition=models.Q(expiry_recorded_at__isnull=True, expires_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint})"

    def status_at(self, now: datetime) -> ApiKeyStatus:
        if self.revoked_at is not None:
            return ApiKeyStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return ApiKeyStatus.EXPIRED
        if self.replaced_by_id is not None:
            return ApiKeyStatus.ROLLED
        return ApiKeyStatus.ACTIVE

    def is_valid_at(self, now: datetime) -> bool:
        return self.status_at(now) in (ApiKeyStatus.ACTIVE, ApiKeyStatus.ROLLED)

    @property
    def status(self) -> ApiKeyStatus:
        return self.status_at(timezone.now())

    @property
    def is_valid(self) -> bool:
        return self.is_valid_at(timezone.now())

    @property
    def preset_label(self) -> str:
        """ "Full access" or "Read-only" when the scopes are exactly one of the presets, else empty."""
        scopes = set(self.scopes)
        if scopes == {p.value for p in TOKEN_SCOPES}:
            return str(_("Full access"))
        if scopes == {p.value for p in READ_ONLY_SCOPES}:
            return str(_("Read-only"))
        return ""

    @property
    def policy(self) -> ToolPolicy:
        return ToolPolicy.from_json(self.tool_policy)

    @property
    def is_idle(self) -> bool:
        """Valid but unused for 90 days (or never used, 90 days after creation): a candidate to revoke."""
        if not self.is_valid:
            return False
        return (self.last_used_at or self.created_at) < timezone.now() - IDLE_AFTER

    @property
    def expires_soon(self) -> bool:
        """Still valid, but stops working within 7 days."""
        return (
            self.is_valid
            and self.expires_at is not None
            and self.expires_at < timezone.now() + EXPIRING_WITHIN
        )

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.core.ids import PublicIdField
from accounts.core.permissions import Role
from accounts.core.tenancy import OrgOwnedModel


class Organization(models.Model):
    """A tenant. Everything else a member can see belongs to exactly one organization."""

    public_id = PublicIdField(prefix="org")
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CredentialGeneration(models.Model):
    """A counter per organization that moves whenever what its credentials may do could have changed.

    Database triggers (migrations accounts 0006 and apikeys 0002) bump it in the same transaction as
    any such change, whoever makes it: a service, a `QuerySet.update()`, django-oauth-toolkit, the
    admin, a SQL console. A worker that cached a credential's principal (accounts/core/credential_cache.py)
    reads this one row per request and uses the cached principal only while the value is unchanged,
    so a revocation takes effect on the next request on every worker and host. Only triggers write it.
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organization_id}@{self.value}"


class Membership(OrgOwnedModel):
    """A user's role in one organization. The only way a person reaches an organization's data."""

    public_id = PublicIdField(prefix="mem")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(_("joined at"), default=timezone.now)

    class Meta(OrgOwnedModel.Meta):
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user"),
        ]
        indexes = [models.Index(fields=["user", "organization"], name="membership_user_org")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.organization_id} ({self.role})"


class Invitation(OrgOwnedModel):
    """An invitation by email. The link carries a secret; only its SHA-256 digest is stored."""

    public_id = PublicIdField(prefix="inv")
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(OrgOwnedModel.Meta):
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [models.Index(fields=["organization", "email"], name="invitation_org_email")]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization_id}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()

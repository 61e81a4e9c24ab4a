from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.core.ids import PublicIdField
from accounts.core.tenancy import OrgOwnedModel


class Project(OrgOwnedModel):
    """A workspace inside an organization that holds documents."""

    public_id = PublicIdField(prefix="prj")
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=50)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    project_lookup = "id"

    class Meta(OrgOwnedModel.Meta):
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="project_unique_slug_in_org"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Document(OrgOwnedModel):
    """A markdown document in a project: the tenant content AI clients read and write."""

    public_id = PublicIdField(prefix="doc")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True, max_length=200_000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    project_lookup = "project_id"

    class Meta(OrgOwnedModel.Meta):
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        indexes = [
            models.Index(fields=["organization", "project", "-updated_at"], name="document_project_recent"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        if self.project_id and self.organization_id and self.project.organization_id != self.organization_id:
            raise ValidationError({"project": _("The project belongs to another organization.")})

"""The one tenancy rule: an org-owned row is reached only through the organization it belongs to.

`Model.objects` on an org-owned model refuses to build a query until it is told whose rows it is
for, either `.for_org(org)` (a known organization) or `.visible_to(principal)` (the organization of a
signed-in member or bearer token, narrowed to the token's project when it has one). A forgotten
filter therefore fails loudly in development and tests instead of leaking rows in production.
The unscoped `all_orgs` manager exists for the admin, migrations and related-object access only;
tests/test_tenancy.py checks that application code does not use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from django.db import models

if TYPE_CHECKING:
    from accounts.core.principal import Principal
    from accounts.orgs.models import Organization

M = TypeVar("M", bound=models.Model)


class UnscopedQueryError(RuntimeError):
    """An org-owned model was queried without naming the organization."""


class OrgScopedQuerySet(models.QuerySet[M]):
    def visible_to(self, principal: Principal) -> OrgScopedQuerySet[M]:
        """Rows of the principal's organization, and of its one project if the credential is restricted."""
        queryset = self.filter(organization_id=principal.organization.pk)
        if principal.project_id is not None:
            project_field = getattr(self.model, "project_lookup", None)
            if project_field is not None:
                queryset = queryset.filter(**{project_field: principal.project_id})
        return queryset


class OrgScopedManager(models.Manager[M]):
    """Default `objects` manager of org-owned models: every query must name its organization."""

    _queryset_class: type[OrgScopedQuerySet[Any]] = OrgScopedQuerySet

    def get_queryset(self) -> models.QuerySet[M]:
        raise UnscopedQueryError(
            f"{self.model.__name__}.objects needs .for_org(org) or .visible_to(principal) first"
        )

    def _scoped(self) -> OrgScopedQuerySet[M]:
        return self._queryset_class(self.model, using=self._db)  # type: ignore[no-any-return]

    def for_org(self, org: Organization) -> OrgScopedQuerySet[M]:
        if org is None or org.pk is None:
            raise UnscopedQueryError(f"{self.model.__name__}.objects.for_org() needs a saved organization")
        return self._scoped().filter(organization_id=org.pk)

    def visible_to(self, principal: Principal) -> OrgScopedQuerySet[M]:
        return self._scoped().visible_to(principal)

    def create(self, **kwargs: Any) -> M:
        # Creating needs no scope: the organization is an explicit field of the new row.
        return self._scoped().create(**kwargs)


class OrgOwnedModel(models.Model):
    """Base of every row that belongs to one organization."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")

    objects: ClassVar[OrgScopedManager[Self]] = OrgScopedManager()
    all_orgs: models.Manager[Any] = models.Manager()

    # Name of the field holding the project id, on models a project-restricted credential must narrow.
    project_lookup: str | None = None

    class Meta:
        abstract = True
        default_manager_name = "all_orgs"
        base_manager_name = "all_orgs"

"""The dashboard's organization pages: the principal from the URL's organization and the session."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponseBase

from accounts.core.permissions import Permission
from accounts.core.principal import Principal
from accounts.core.rls import narrow
from accounts.core.web import client_ip, signed_in_user, user_agent
from accounts.orgs.models import Organization
from accounts.orgs.selectors import principal_for_member


class OrgViewMixin(LoginRequiredMixin):
    """Resolves `self.principal` from the URL's org slug and the signed-in user's membership.

    Non-members get the same 404 as a missing organization; members without `permission` get 403.
    """

    permission: Permission | None = None
    principal: Principal
    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        try:
            self.principal = principal_for_member(
                user=signed_in_user(request),
                org_slug=kwargs["org_slug"],
                ip=client_ip(request),
                user_agent=user_agent(request),
            )
        except Organization.DoesNotExist:
            raise Http404 from None
        narrow(organization_id=self.principal.organization.pk)
        if self.permission is not None:
            self.principal.require(self.permission)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    @property
    def org(self) -> Organization:
        return self.principal.organization

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.update(org=self.org, principal=self.principal, can=PermissionFlags(self.principal))
        return context


class PermissionFlags:
    """`{% if can.members_manage %}` in templates, asking the same role matrix as the services."""

    def __init__(self, principal: Principal) -> None:
        self._principal = principal

    def __getattr__(self, name: str) -> bool:
        try:
            permission = Permission(name.replace("_", ":", 1))
        except ValueError:
            raise AttributeError(name) from None
        return self._principal.can(permission)

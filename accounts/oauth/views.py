"""The Connected apps pages: a person's own connections, and every member's for owners and admins."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import TemplateView, View

from accounts.core.permissions import Permission
from accounts.core.web import client_ip, or_404, signed_in_user, user_agent
from accounts.oauth.applications import app_label
from accounts.oauth.selectors import (
    connection_get_application,
    connection_list_for_org,
    connection_list_for_user,
    connection_user_in_org,
    reuse_events_for_org,
    reuse_events_for_user,
)
from accounts.oauth.services import connection_revoke, connection_revoke_all
from accounts.orgs.mixins import OrgViewMixin
from accounts.orgs.selectors import principal_for_member


class ConnectedAppsView(LoginRequiredMixin, TemplateView):
    """The signed-in person's connections, in every organization, with revoke and revoke-all."""

    template_name = "accounts/oauth/connections.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = signed_in_user(self.request)
        context["connections"] = connection_list_for_user(user=user)
        context["reuse_events"] = reuse_events_for_user(user=user)
        context["mcp_url"] = settings.MCP_RESOURCE_URL
        return context


class ConnectedAppRevokeView(LoginRequiredMixin, View):
    """Revoke one of the person's own connections (POST), in an organization they belong to."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = signed_in_user(request)
        try:
            principal = principal_for_member(
                user=user,
                org_slug=request.POST.get("organization", ""),
                ip=client_ip(request),
                user_agent=user_agent(request),
            )
            application = connection_get_application(client_id=request.POST.get("client_id", ""))
        except ObjectDoesNotExist:
            messages.error(request, _("That connection no longer exists."))
            return redirect("oauth:connections")
        connection_revoke(principal=principal, application=application, user=user)
        messages.success(
            request,
            _("%(app)s can no longer act in %(org)s.")
            % {"app": app_label(application), "org": principal.organization.name},
        )
        return redirect("oauth:connections")


class ConnectedAppsRevokeAllView(LoginRequiredMixin, View):
    """Disconnect every app of the signed-in person, in every organization (POST)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        count = connection_revoke_all(
            user=signed_in_user(request), ip=client_ip(request), user_agent=user_agent(request)
        )
        message = ngettext(
            "Disconnected %(count)d app connection.", "Disconnected %(count)d app connections.", count
        )
        messages.success(request, message % {"count": count})
        return redirect("oauth:connections")


class OrgConnectedAppsView(OrgViewMixin, TemplateView):
    """Every member's connections in one organization, for owners and admins."""

    template_name = "accounts/oauth/org_connections.html"
    permission = Permission.KEYS_MANAGE

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["connections"] = connection_list_for_org(principal=self.principal)
        context["reuse_events"] = reuse_events_for_org(principal=self.principal)
        context["nav_section"] = "connections"
        return context


class OrgConnectedAppRevokeView(OrgViewMixin, View):
    """Disconnect one member's app from this organization (POST, owners and admins)."""

    permission = Permission.KEYS_MANAGE

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        application = or_404(connection_get_application, client_id=request.POST.get("client_id", ""))
        member = or_404(
            connection_user_in_org,
            principal=self.principal,
            user_public_id=request.POST.get("user", ""),
        )
        connection_revoke(principal=self.principal, application=application, user=member)
        messages.success(
            request,
            _("%(app)s can no longer act for %(person)s.")
            % {"app": app_label(application), "person": member.email},
        )
        return redirect("oauth:org_connections", org_slug=self.principal.organization.slug)

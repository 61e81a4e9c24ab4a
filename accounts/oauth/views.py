"""The Connected apps pages: a person's own connections, and every member's for owners and admins."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import FormView, TemplateView, View

from accounts.core.forms import ToolPolicyForm
from accounts.core.permissions import Permission
from accounts.core.web import ServiceFormMixin, client_ip, or_404, signed_in_user, user_agent
from accounts.oauth.applications import app_label
from accounts.oauth.selectors import (
    Connection,
    connection_get,
    connection_get_application,
    connection_list_for_org,
    connection_list_for_user,
    connection_user_in_org,
    reuse_events_for_org,
    reuse_events_for_user,
)
from accounts.oauth.services import connection_revoke, connection_revoke_all, connection_set_tool_policy
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


class ConnectionToolsView(OrgViewMixin, ServiceFormMixin, FormView):
    """One connection's MCP tool policy (`?app=<client id>&user=<public id>`): the person's own, or any
    member's for owners and admins. Reached from both Connected apps pages."""

    template_name = "accounts/oauth/connection_tools.html"
    form_class = ToolPolicyForm

    @cached_property
    def connection(self) -> Connection:
        application = or_404(connection_get_application, client_id=self.request.GET.get("app", ""))
        user = or_404(
            connection_user_in_org, principal=self.principal, user_public_id=self.request.GET.get("user", "")
        )
        return or_404(connection_get, principal=self.principal, application=application, user=user)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "initial_policy": self.connection.tool_policy}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        own = self.principal.user is not None and self.connection.user.pk == self.principal.user.pk
        back = reverse("oauth:connections") if own else reverse("oauth:org_connections", args=[self.org.slug])
        return super().get_context_data(conn=self.connection, back_url=back, **kwargs)

    def save(self, form: ToolPolicyForm) -> HttpResponse:
        conn = self.connection
        connection_set_tool_policy(
            principal=self.principal,
            application=conn.application,
            user=conn.user,
            tool_policy=form.cleaned_data["tool_policy"],
        )
        messages.success(
            self.request,
            _("The MCP tools of %(app)s are saved: its next request follows them.") % {"app": conn.label},
        )
        return redirect(self.request.get_full_path())


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

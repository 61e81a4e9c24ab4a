"""Placeholder: implemented in this issue's next step."""

from django.views.generic import TemplateView


class _Todo(TemplateView):
    template_name = "base.html"


class OrganizationCreateView(_Todo):
    pass


class InvitationAcceptView(_Todo):
    pass


class OrganizationHomeView(_Todo):
    pass


class OrganizationSettingsView(_Todo):
    pass


class MemberListView(_Todo):
    pass


class MemberInviteView(_Todo):
    pass


class MemberRoleView(_Todo):
    pass


class MemberRemoveView(_Todo):
    pass


class InvitationRevokeView(_Todo):
    pass

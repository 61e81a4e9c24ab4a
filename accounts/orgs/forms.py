"""Forms of the organization pages: create, rename, invite, change a role."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.core.permissions import Role, can_assign_role
from accounts.orgs.models import Organization


class OrganizationCreateForm(forms.Form):
    """A new organization; the service checks that the address is free and not reserved."""

    name = forms.CharField(
        label=_("Organization name"),
        max_length=Organization._meta.get_field("name").max_length,
        help_text=_("Your company or team. You can rename it later."),
    )
    slug = forms.SlugField(
        label=_("Address"),
        max_length=Organization._meta.get_field("slug").max_length,
        required=False,
        help_text=_(
            "Used in links, as in /orgs/acme/: lowercase letters, numbers and hyphens. "
            "Leave it blank to make one from the name. It cannot be changed later."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update(autofocus=True, autocomplete="organization")
        self.fields["slug"].widget.attrs.update(autocapitalize="none", spellcheck="false")

    def clean_slug(self) -> str:
        return str(self.cleaned_data["slug"]).lower()


class OrganizationRenameForm(forms.Form):
    name = forms.CharField(
        label=_("Organization name"), max_length=Organization._meta.get_field("name").max_length
    )


class MemberInviteForm(forms.Form):
    """Invite by email; only the roles the inviting member may hand out are offered."""

    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), initial=Role.MEMBER)

    def __init__(self, *args: Any, actor_role: Role, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update(autocomplete="off", placeholder="name@example.com")
        cast(forms.ChoiceField, self.fields["role"]).choices = [
            (role.value, role.label)
            for role in Role
            if can_assign_role(actor_role=actor_role, current=None, new=role)
        ]


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

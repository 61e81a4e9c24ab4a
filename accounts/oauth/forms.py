"""The consent form: DOT's hidden authorization fields plus the organization, project and scopes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _
from oauth2_provider.forms import AllowForm

from accounts.content.models import Project
from accounts.core.forms import ToolPolicyFormMixin
from accounts.core.permissions import TOKEN_SCOPES, Role
from accounts.orgs.models import Organization


class ConsentForm(ToolPolicyFormMixin, AllowForm):
    """DOT's hidden authorization fields, plus the organization, an optional project, the scopes and
    the MCP tools the app may call.

    Choices come from the signed-in person's memberships only; the service re-checks all of it.
    """

    organization = forms.ChoiceField(label=_("Organization"), required=False)
    project = forms.ChoiceField(
        label=_("Limit to one project"),
        required=False,
        help_text=_("Leave on “All projects” to let the app see every project your role can see."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Permissions"), required=False, widget=forms.CheckboxSelectMultiple
    )
    # The authorization request the page was shown for, signed (accounts/oauth/endpoints.py).
    authorization = forms.CharField(widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        organizations: Iterable[tuple[Organization, Role]] = (),
        projects: Iterable[Project] = (),
        requested_scopes: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        orgs = list(organizations)
        self.has_organizations = bool(orgs)
        fields = cast(dict[str, forms.ChoiceField], self.fields)
        fields["organization"].choices = [
            ("", _("Choose an organization…")),
            *((org.slug, f"{org.name} ({role.label})") for org, role in orgs),
        ]
        if len(orgs) == 1 and not self.is_bound:
            self.initial["organization"] = orgs[0][0].slug
        names = {org.pk: org.name for org, _role in orgs}
        grouped: dict[str, list[tuple[str, str]]] = {}
        for project in projects:
            grouped.setdefault(names.get(project.organization_id, ""), []).append(
                (f"{project.organization.slug}/{project.slug}", project.name)
            )
        fields["project"].choices = [("", _("All projects")), *grouped.items()]
        requested = list(requested_scopes)
        fields["scopes"].choices = [(p.value, p.label) for p in TOKEN_SCOPES if p.value in requested]
        if not self.is_bound:
            self.initial["scopes"] = requested
        self.init_tool_policy()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["tool_policy"] = self.cleaned_tool_policy()
        return cleaned

    def clean_project(self) -> str:
        """The project slug, if it belongs to the chosen organization (`org/slug` in the form)."""
        value = self.cleaned_data.get("project") or ""
        if not value:
            return ""
        org_slug, _sep, project_slug = value.partition("/")
        if org_slug != self.data.get("organization"):
            raise forms.ValidationError(_("That project belongs to another organization."))
        return project_slug

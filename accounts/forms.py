from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.contrib.auth import forms as auth_forms
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.forms import AllowForm

from accounts.audit import AuditAction
from accounts.models import Document, Membership, Organization, Project, User
from accounts.permissions import TOKEN_SCOPES, Role, can_assign_role
from accounts.principal import Channel
from accounts.selectors import AuditFilters


class SignupForm(auth_forms.BaseUserCreationForm):
    name = forms.CharField(label=_("Your name"), max_length=150, required=False)

    class Meta:
        model = User
        fields = ("email", "name")
        labels = {"email": _("Work email")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update(autocomplete="email", autofocus=True)
        self.fields["name"].widget.attrs.update(autocomplete="name")

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this email already exists. Sign in instead."))
        return email


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The account a sign-in attempt is for, as django-axes counts failures: the email, lower-cased."""
    source = credentials if credentials is not None else request.POST
    return str(source.get("username") or "").strip().lower()


class LoginForm(auth_forms.AuthenticationForm):
    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": _("That email and password do not match an account. Check both and try again."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Email")
        self.fields["username"].widget = forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})


def _max_length(model: type[Project | Document], name: str) -> int | None:
    """The model field's max_length, so the form refuses what the service would."""
    return getattr(model._meta.get_field(name), "max_length", None)


class ProjectForm(forms.Form):
    """A new project; the services check that the slug is free in the organization."""

    name = forms.CharField(label=_("Name"), max_length=_max_length(Project, "name"))
    slug = forms.SlugField(
        label=_("Slug"),
        max_length=_max_length(Project, "slug"),
        required=False,
        help_text=_("Used in links to the project. Leave it blank to make one from the name."),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=_max_length(Project, "description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "short"}),
        help_text=_("What belongs in this project, for people and AI clients."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update(autofocus=True)


class ProjectEditForm(ProjectForm):
    """An existing project: its slug is shown and required."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.pop("autofocus")
        self.fields["slug"].required = True
        self.fields["slug"].help_text = _(
            "Used in links to the project: letters, numbers, hyphens and underscores. "
            "Changing it breaks links people have saved."
        )


class DocumentForm(forms.Form):
    """A document's title and markdown body."""

    title = forms.CharField(label=_("Title"), max_length=_max_length(Document, "title"))
    body = forms.CharField(
        label=_("Body"),
        max_length=_max_length(Document, "body"),
        required=False,
        strip=False,  # leading spaces are markdown (an indented code block)
        widget=forms.Textarea(attrs={"rows": 20, "spellcheck": "true"}),
        help_text=_(
            "Markdown: # headings, - lists, **bold**, [links](https://example.com), tables and "
            "```code blocks```. HTML is shown as text."
        ),
    )

    def clean_body(self) -> str:
        # Browsers send CRLF; keep the stored text the same as the API and MCP write it.
        return str(self.cleaned_data["body"]).replace("\r\n", "\n")


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


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        # A date input wants ISO dates whatever the language (Russian would format 31.12.2026).
        super().__init__(format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    """The audit log's filters, read from the query string; people and projects of this organization only."""

    actor = forms.ChoiceField(
        label=_("Actor"),
        required=False,
        error_messages={"invalid_choice": _("Choose a member of this organization from the list.")},
    )
    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        error_messages={"invalid_choice": _("Choose an action from the list.")},
    )
    project = forms.ChoiceField(
        label=_("Project"),
        required=False,
        error_messages={"invalid_choice": _("Choose a project of this organization from the list.")},
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        error_messages={"invalid_choice": _("Choose a channel from the list.")},
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=_DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=_DateInput())
    # Set by the "everything this key did" links of the API keys and Connected apps pages.
    credential = forms.CharField(
        label=_("Credential"), required=False, max_length=64, widget=forms.HiddenInput
    )

    def __init__(
        self, data: Any = None, *, members: Iterable[Membership], projects: Iterable[Project]
    ) -> None:
        super().__init__(data)
        self._users = {m.user.public_id: m.user for m in members}
        self._projects = {p.slug: p for p in projects}
        fields = cast(dict[str, forms.ChoiceField], self.fields)
        fields["actor"].choices = [
            ("", _("Anyone")),
            *((pid, f"{u.name} ({u.email})" if u.name else u.email) for pid, u in self._users.items()),
        ]
        fields["action"].choices = [("", _("All actions")), *AuditAction.choices]
        fields["project"].choices = [
            ("", _("All projects")),
            *(
                (slug, _("%(name)s (archived)") % {"name": p.name} if p.is_archived else p.name)
                for slug, p in self._projects.items()
            ),
        ]
        fields["channel"].choices = [("", _("All channels")), *Channel.choices]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)

    def filters(self) -> AuditFilters:
        """The selector's filters; call after is_valid(). Dates are whole days in the current time zone."""
        data = self.cleaned_data
        date_to: date | None = data.get("date_to")
        return AuditFilters(
            actor=self._users.get(data.get("actor") or ""),
            action=data.get("action") or "",
            project=self._projects.get(data.get("project") or ""),
            channel=data.get("channel") or "",
            since=aware_datetime(date_from) if (date_from := data.get("date_from")) else None,
            # Up to the end of that day; date.max has no next day, and no bound is the same there.
            until=aware_datetime(date_to + timedelta(days=1)) if date_to and date_to < date.max else None,
            credential_id=data.get("credential") or "",
        )


def aware_datetime(day: date, at: time = time.min) -> datetime:
    """A date picked in a form, at `at` (midnight by default) in the current time zone."""
    return timezone.make_aware(datetime.combine(day, at))


# OAuth consent (accounts/views/oauth.py)


class ConsentForm(AllowForm):
    """DOT's hidden authorization fields, plus the organization, an optional project and the scopes.

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

    def clean_project(self) -> str:
        """The project slug, if it belongs to the chosen organization (`org/slug` in the form)."""
        value = self.cleaned_data.get("project") or ""
        if not value:
            return ""
        org_slug, _sep, project_slug = value.partition("/")
        if org_slug != self.data.get("organization"):
            raise forms.ValidationError(_("That project belongs to another organization."))
        return project_slug

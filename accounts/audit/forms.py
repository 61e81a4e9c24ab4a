"""The audit log's filter form."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.audit.models import AuditAction
from accounts.audit.selectors import AuditFilters
from accounts.content.models import Project
from accounts.core.forms import aware_datetime
from accounts.core.principal import Channel
from accounts.orgs.models import Membership


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

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.content.models import Project
from accounts.content.selectors import project_choices
from accounts.core.forms import ToolPolicyFormMixin, aware_datetime
from accounts.core.permissions import READ_ONLY_SCOPES, TOKEN_SCOPES, Permission
from accounts.core.principal import Principal

PRESET_READ, PRESET_FULL, PRESET_CUSTOM = "read", "full", "custom"
EXPIRY_NEVER, EXPIRY_CUSTOM = "never", "custom"
EXPIRY_CHOICES = [
    ("30", _("30 days")),
    ("90", _("90 days")),
    ("365", _("1 year")),
    (EXPIRY_NEVER, _("Never")),
    (EXPIRY_CUSTOM, _("On a date")),
]
OVERLAP_CHOICES = [
    ("0", _("None: the old key stops working now")),
    ("3600", _("1 hour")),
    ("86400", _("24 hours")),
    ("604800", _("7 days")),
]


class _ShownOnceForm(forms.Form):
    # Issued with the form and spent by the key it creates: a reload of the result creates nothing.
    nonce = forms.CharField(widget=forms.HiddenInput, required=False)


class ApiKeyCreateForm(ToolPolicyFormMixin, _ShownOnceForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Say what will use it, e.g. “GitHub Actions deploy” or “Cursor on my laptop”."),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    project: forms.ModelChoiceField[Project] = forms.ModelChoiceField(
        label=_("Project"),
        queryset=None,
        required=False,
        to_field_name="slug",
        empty_label=_("All projects, including future ones"),
        help_text=_("A key for one project cannot see or change anything outside it."),
    )
    access = forms.ChoiceField(label=_("Access"), widget=forms.RadioSelect, initial=PRESET_READ)
    scopes = forms.MultipleChoiceField(label=_("Scopes"), widget=forms.CheckboxSelectMultiple, required=False)
    expiry = forms.ChoiceField(
        label=_("Expires"), widget=forms.RadioSelect, choices=EXPIRY_CHOICES, initial="90"
    )
    expires_on = forms.DateField(
        label=_("Expiry date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The key works until the end of this day (UTC)."),
    )

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.principal = principal
        cast(forms.ModelChoiceField, self.fields["project"]).queryset = project_choices(principal=principal)
        self.allowed = [scope for scope in TOKEN_SCOPES if principal.can(scope)]
        self.unavailable = [scope for scope in TOKEN_SCOPES if scope not in self.allowed]
        self.read_scopes = [scope for scope in READ_ONLY_SCOPES if scope in self.allowed]
        cast(forms.ChoiceField, self.fields["scopes"]).choices = [(s.value, s.label) for s in self.allowed]
        cast(forms.ChoiceField, self.fields["access"]).choices = [
            (PRESET_READ, _("Read-only")),
            (PRESET_FULL, _("Full access")),
            (PRESET_CUSTOM, _("Choose scopes")),
        ]
        self.fields["expires_on"].widget.attrs["min"] = (timezone.localdate() + timedelta(days=1)).isoformat()
        self.init_tool_policy()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        access = cleaned.get("access")
        if access == PRESET_READ:
            cleaned["scope_list"] = [scope.value for scope in self.read_scopes]
        elif access == PRESET_FULL:
            cleaned["scope_list"] = [scope.value for scope in self.allowed]
        elif access == PRESET_CUSTOM:
            cleaned["scope_list"] = cleaned.get("scopes") or []
            if not cleaned["scope_list"] and "scopes" not in self.errors:
                self.add_error("scopes", _("Tick at least one scope, or choose Read-only or Full access."))
        cleaned["expires_at"] = self._expires_at(cleaned)
        cleaned["tool_policy"] = self.cleaned_tool_policy()
        return cleaned

    def _expires_at(self, cleaned: dict[str, Any]) -> datetime | None:
        expiry = cleaned.get("expiry")
        if expiry in (None, EXPIRY_NEVER):
            return None
        if expiry == EXPIRY_CUSTOM:
            day = cleaned.get("expires_on")
            if day is None:
                if "expires_on" not in self.errors:
                    self.add_error("expires_on", _("Pick the day the key should stop working."))
                return None
            if day <= timezone.localdate():
                self.add_error("expires_on", _("Pick a day after today."))
                return None
            # Valid through the chosen day, to its last microsecond.
            return aware_datetime(day, time.max)
        return timezone.now() + timedelta(days=int(expiry))

    def access_options(self) -> list[dict[str, Any]]:
        """Each access radio with the scopes it stands for, to show next to it."""
        presets: dict[str, list[Permission]] = {PRESET_READ: self.read_scopes, PRESET_FULL: self.allowed}
        return [{"radio": radio, "scopes": presets.get(radio.data["value"], [])} for radio in self["access"]]


class ApiKeyRollForm(_ShownOnceForm):
    overlap = forms.TypedChoiceField(
        label=_("Keep the old key working for"),
        choices=OVERLAP_CHOICES,
        coerce=lambda seconds: timedelta(seconds=int(seconds)),
        widget=forms.RadioSelect,
        initial="86400",
        help_text=_(
            "Time to put the new key everywhere the old one is used. Then the old key stops working."
        ),
    )

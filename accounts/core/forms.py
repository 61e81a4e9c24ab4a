"""Form helpers shared by every domain."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.core.toolpolicy import (
    EVERYTHING,
    PolicyPreset,
    ToolMode,
    ToolPolicy,
    build_tool_policy,
    configurable_tools,
)


def aware_datetime(day: date, at: time = time.min) -> datetime:
    """A date picked in a form, at `at` (midnight by default) in the current time zone."""
    return timezone.make_aware(datetime.combine(day, at))


TOOL_FIELD_PREFIX = "tool__"


class ToolPolicyFormMixin:
    """A credential's MCP tool policy on a form: a preset, and one choice per tool for "custom".

    Call `init_tool_policy()` in `__init__`; `cleaned_tool_policy()` in `clean()` gives the policy
    (accounts/core/toolpolicy.py), which the service validates again."""

    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def init_tool_policy(self, *, initial: ToolPolicy = EVERYTHING) -> None:
        self.fields["tool_preset"] = forms.ChoiceField(
            label=_("MCP tools"),
            choices=PolicyPreset.choices,
            initial=initial.preset.value,
            widget=forms.RadioSelect,
            # Left out (a script's POST): everything the scopes allow, as before policies existed.
            required=False,
        )
        described = initial.describe()
        for info in configurable_tools():
            self.fields[f"{TOOL_FIELD_PREFIX}{info.name}"] = forms.ChoiceField(
                label=info.name,
                choices=ToolMode.choices,
                initial=described[info.name],
                required=False,
            )

    def tool_rows(self) -> list[dict[str, Any]]:
        """Each tool, its select, and whether it only reads: the custom policy's table."""
        form = cast(forms.Form, self)
        return [
            {"info": info, "field": form[f"{TOOL_FIELD_PREFIX}{info.name}"], "scopes": ", ".join(info.scopes)}
            for info in configurable_tools()
        ]

    def cleaned_tool_policy(self) -> ToolPolicy:
        """The chosen policy (a form whose preset did not validate is invalid anyway)."""
        preset = self.cleaned_data.get("tool_preset") or PolicyPreset.ALL
        modes = {
            info.name: self.cleaned_data.get(f"{TOOL_FIELD_PREFIX}{info.name}") or ToolMode.HIDDEN
            for info in configurable_tools()
        }
        return build_tool_policy(preset=preset, modes=modes)


class ToolPolicyForm(ToolPolicyFormMixin, forms.Form):
    """A tool policy on its own: the pages of an API key and of a Connected app."""

    def __init__(self, *args: Any, initial_policy: ToolPolicy = EVERYTHING, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.init_tool_policy(initial=initial_policy)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["tool_policy"] = self.cleaned_tool_policy()
        return cleaned

"""A credential's tool policy: for each MCP tool, *allowed*, *hidden* or *needs approval*.

An API key and an OAuth connection each carry one (stored as JSON on the key, and on the grant and
tokens of the connection), on top of their scopes: a tool is usable when the scopes (and the
member's role) allow it *and* the policy does not hide it. The MCP layer asks the principal
(`Principal.tool_mode`) in one place, mcpserver/registry.py.

Three shapes, so that a tool added in a later release gets a sensible answer:

- `all` ("everything the scopes allow"): every tool allowed. An empty JSON object means this, so
  credentials made before policies existed keep working as they did.
- `read_only`: read-only tools allowed, every other tool hidden (a new write tool too).
- `custom`: each tool as listed; a tool not listed (one added later) is hidden: fail closed.

The tools themselves are defined in mcpserver/, which this package may not import: their names,
titles and whether they only read are registered here (`register_tool`) when mcpserver loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class ToolMode(models.TextChoices):
    ALLOWED = "allowed", _("Allowed")
    APPROVAL = "approval", _("Needs approval")
    HIDDEN = "hidden", _("Hidden")


class PolicyPreset(models.TextChoices):
    ALL = "all", _("Everything the scopes allow")
    READ_ONLY = "read_only", _("Read-only tools")
    CUSTOM = "custom", _("Choose tool by tool")


@dataclass(frozen=True)
class ToolInfo:
    name: str
    title: str
    read_only: bool
    scopes: tuple[str, ...]
    # False for tools a policy never hides (whoami: how a client learns what it may do).
    configurable: bool = True


CATALOGUE: dict[str, ToolInfo] = {}


def register_tool(info: ToolInfo) -> None:
    """Make a tool known to policies (called by mcpserver.registry.org_tool)."""
    CATALOGUE[info.name] = info


def configurable_tools() -> list[ToolInfo]:
    """The tools a policy decides about, in tools/list order."""
    return [info for info in CATALOGUE.values() if info.configurable]


@dataclass(frozen=True, slots=True)
class ToolPolicy:
    preset: PolicyPreset = PolicyPreset.ALL
    # Custom policies only: tool name -> mode; a tool missing here is hidden.
    modes: Mapping[str, ToolMode] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def mode(self, name: str) -> ToolMode:
        """What this policy says about one tool; an unknown name is left to the MCP server (allowed)."""
        info = CATALOGUE.get(name)
        if info is None or not info.configurable or self.preset == PolicyPreset.ALL:
            return ToolMode.ALLOWED
        if self.preset == PolicyPreset.READ_ONLY:
            return ToolMode.ALLOWED if info.read_only else ToolMode.HIDDEN
        return self.modes.get(name, ToolMode.HIDDEN)

    def tool_modes(self) -> list[tuple[str, ToolMode]]:
        """Every configurable tool with its mode, for pages (the mode's label is translated)."""
        return [(info.name, self.mode(info.name)) for info in configurable_tools()]

    def describe(self) -> dict[str, str]:
        """Every configurable tool with its mode: what the REST API and the pages show."""
        return {info.name: self.mode(info.name).value for info in configurable_tools()}

    def to_json(self) -> dict[str, Any]:
        if self.preset != PolicyPreset.CUSTOM:
            return {} if self.preset == PolicyPreset.ALL else {"preset": self.preset.value}
        return {"preset": self.preset.value, "tools": {name: mode.value for name, mode in self.modes.items()}}

    @classmethod
    def from_json(cls, value: Any) -> ToolPolicy:
        """The policy stored on a credential. Anything malformed hides every tool (fail closed)."""
        if not value:
            return EVERYTHING
        try:
            preset = PolicyPreset(value.get("preset", PolicyPreset.ALL))
            tools = value.get("tools") or {}
            modes = {str(name): ToolMode(mode) for name, mode in tools.items()}
        except (AttributeError, ValueError, TypeError):
            return cls(preset=PolicyPreset.CUSTOM)
        if preset != PolicyPreset.CUSTOM:
            return cls(preset=preset)
        return cls(preset=preset, modes=MappingProxyType(modes))

    @property
    def label(self) -> str:
        return str(self.preset.label)


EVERYTHING = ToolPolicy()
READ_ONLY = ToolPolicy(preset=PolicyPreset.READ_ONLY)


def build_tool_policy(*, preset: str, modes: Mapping[str, str] | None = None) -> ToolPolicy:
    """A policy from a form, the REST API or a command; raises ValidationError naming what is wrong."""
    try:
        chosen = PolicyPreset(preset)
    except ValueError:
        raise ValidationError(
            {"tool_policy": gettext("Unknown tool policy: %(preset)s.") % {"preset": preset}}
        ) from None
    if chosen != PolicyPreset.CUSTOM:
        return ToolPolicy(preset=chosen)
    given = dict(modes or {})
    unknown = sorted(name for name in given if name not in CATALOGUE or not CATALOGUE[name].configurable)
    if unknown:
        raise ValidationError(
            {"tool_policy": gettext("Unknown tool: %(tools)s.") % {"tools": ", ".join(unknown)}}
        )
    bad = sorted(name for name, mode in given.items() if mode not in ToolMode.values)
    if bad:
        raise ValidationError(
            {
                "tool_policy": gettext("Choose allowed, needs approval or hidden for: %(tools)s.")
                % {"tools": ", ".join(bad)}
            }
        )
    # Every configurable tool is stored explicitly, in tools/list order.
    stored = {info.name: ToolMode(given.get(info.name, ToolMode.HIDDEN)) for info in configurable_tools()}
    return ToolPolicy(preset=chosen, modes=MappingProxyType(stored))


def tool_policy_from_names(names: Iterable[str], *, approval: Iterable[str] = ()) -> ToolPolicy:
    """`--tools NAME,…`: these tools allowed, `approval` ones needing approval, every other hidden.

    `all` and `read-only` stand for their presets (with `approval`, a custom policy built on them)."""
    wanted = [name.strip() for name in names if name.strip()]
    needs_approval = [name.strip() for name in approval if name.strip()]
    preset = {"all": EVERYTHING, "read-only": READ_ONLY, "read_only": READ_ONLY}.get(",".join(wanted))
    if preset is not None and not needs_approval:
        return preset
    if preset is not None:
        wanted = [name for name, mode in preset.describe().items() if mode == ToolMode.ALLOWED]
    modes = dict.fromkeys(wanted, ToolMode.ALLOWED.value)
    modes |= dict.fromkeys(needs_approval, ToolMode.APPROVAL.value)
    return build_tool_policy(preset=PolicyPreset.CUSTOM, modes=modes)


def policy_change(before: ToolPolicy, after: ToolPolicy) -> dict[str, Any]:
    """An audit event's data for a policy change: both presets, and each tool whose mode changed."""
    old, new = before.describe(), after.describe()
    return {
        "preset": after.preset.value,
        "previous_preset": before.preset.value,
        "tools": {name: {"from": old[name], "to": mode} for name, mode in new.items() if old[name] != mode},
    }

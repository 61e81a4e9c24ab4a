"""Template filters of the audit log page: `{% load audit %}`."""

from __future__ import annotations

import json
from typing import Any

from django import template

from accounts.audit.models import AuditAction
from accounts.core.principal import CredentialKind

register = template.Library()


@register.filter
def audit_action_label(value: str) -> str:
    """The readable name of an action; the stored value for an action this version does not know."""
    try:
        return str(AuditAction(value).label)
    except ValueError:
        return value


@register.filter
def credential_kind_label(value: str) -> str:
    try:
        return str(CredentialKind(value).label)
    except ValueError:
        return value


@register.filter
def audit_json(value: Any, style: str = "pretty") -> str:
    """Event data as JSON: indented for the details panel, or on one line ("inline") for a preview."""
    if style == "inline":
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2)

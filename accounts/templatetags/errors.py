"""Template filters for error pages."""

from django import template
from django.utils.translation import gettext as _

from accounts.core.permissions import Permission

register = template.Library()


@register.filter
def denied_reason(exception: object) -> str:
    """Say in words why a PermissionDenied was raised; a bare permission code names what is missing."""
    message = str(exception or "")
    try:
        permission = Permission(message)
    except ValueError:
        # A service's own sentence ("Only owners can remove an owner."), or nothing at all.
        return message or _("Your role in this organization does not allow this action.")
    return _("Your role in this organization does not include “%(permission)s”.") % {
        "permission": permission.label
    }

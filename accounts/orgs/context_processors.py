from typing import Any

from django.http import HttpRequest

from accounts.orgs.selectors import organization_list_for_user
from accounts.orgs.views.organizations import PENDING_INVITATIONS_SESSION_KEY


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The organizations for the switcher; evaluated lazily, only by pages that show it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_organizations": organization_list_for_user(user=user),
        # Counted where signing in lands (`/`) and on the invitations page; no query here.
        "nav_invitation_count": request.session.get(PENDING_INVITATIONS_SESSION_KEY, 0),
    }

"""Django's model module of the `accounts` app: every domain's models, registered under one app label.

The models live with their domain (accounts/<domain>/models.py); this module only imports them so that
Django finds them, and migrations and the swapped OAuth models keep the `accounts` label. Application
code imports from the domain module, never from here (that would be an import cycle).
"""

from accounts.audit.models import AuditChainHead, AuditEvent
from accounts.content.models import Document, Project
from accounts.oauth.models import (
    OAuthAccessToken,
    OAuthApplication,
    OAuthGrant,
    OAuthIDToken,
    OAuthRefreshToken,
)
from accounts.orgs.models import CredentialGeneration, Invitation, Membership, Organization
from accounts.users.models import User

__all__ = [
    "AuditChainHead",
    "AuditEvent",
    "CredentialGeneration",
    "Document",
    "Invitation",
    "Membership",
    "OAuthAccessToken",
    "OAuthApplication",
    "OAuthGrant",
    "OAuthIDToken",
    "OAuthRefreshToken",
    "Organization",
    "Project",
    "User",
]

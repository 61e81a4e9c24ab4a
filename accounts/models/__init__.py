from accounts.models.audit import AuditChainHead, AuditEvent
from accounts.models.content import Document, Project
from accounts.models.oauth import (
    OAuthAccessToken,
    OAuthApplication,
    OAuthGrant,
    OAuthIDToken,
    OAuthRefreshToken,
)
from accounts.models.orgs import Invitation, Membership, Organization
from accounts.models.users import User

__all__ = [
    "AuditChainHead",
    "AuditEvent",
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

"""What Gatehouse says about an OAuth app: its label, domain and trust signals; how its events are audited."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from accounts.audit.models import AuditAction
from accounts.audit.record import audit_record
from accounts.content.models import Project
from accounts.core.client import clean_ip, clip_user_agent
from accounts.core.permissions import Role
from accounts.core.principal import Channel, Credential, CredentialKind, Principal
from accounts.core.secrecy import token_digest
from accounts.oauth.models import OAuthApplication
from accounts.orgs.models import Membership, Organization
from accounts.users.models import User

# AuditEvent.credential_id's max_length.
CREDENTIAL_ID_LENGTH = 64


def app_credential(application: OAuthApplication) -> Credential:
    """The app as the credential an event or a rate limit names: one id per app, never shared."""
    return Credential(
        kind=CredentialKind.OAUTH, id=app_credential_id(application), label=app_label(application)
    )


def app_credential_id(application: OAuthApplication) -> str:
    """The client id where it fits the audit log's 64 characters; else (a long CIMD URL) its digest.

    Cutting long ids to 64 characters would give two metadata documents under one long path the
    same id, in the audit log and in rate limits alike.
    """
    client_id = application.client_id
    if len(client_id) <= CREDENTIAL_ID_LENGTH:
        return client_id
    return "cimd:" + token_digest(client_id)[: CREDENTIAL_ID_LENGTH - len("cimd:")]


def app_label(application: OAuthApplication) -> str:
    """The app's own name, else its CIMD domain, else its client id."""
    return (application.name or app_domain(application) or application.client_id)[:200]


def app_domain(application: OAuthApplication) -> str:
    """The host that vouches for the app's name: its metadata document's (CIMD); "" for a registered app."""
    if application.registration_source == OAuthApplication.RegistrationSource.CIMD:
        return urlsplit(application.client_id).hostname or ""
    return ""


def app_is_loopback(application: OAuthApplication) -> bool:
    """Every redirect goes to this computer: anything running on it could be that app."""
    hosts = [urlsplit(uri).hostname for uri in application.redirect_uris.split()]
    return bool(hosts) and all(host in {"127.0.0.1", "::1", "localhost"} for host in hosts)


def app_is_verified(application: OAuthApplication) -> bool:
    """Only a CIMD client's name is vouched for (by its https domain); a registered name is self-chosen."""
    return application.registration_source == OAuthApplication.RegistrationSource.CIMD


def app_principal(
    *,
    user: User | None,
    organization: Organization,
    application: OAuthApplication,
    channel: Channel,
    ip: str | None,
    user_agent: str,
    role: Role | None = None,
) -> Principal:
    if role is None and user is not None:
        membership = Membership.objects.for_org(organization).filter(user_id=user.pk).first()
        role = Role(membership.role) if membership else Role.VIEWER
    return Principal(
        user=user,
        organization=organization,
        role=role or Role.VIEWER,
        channel=channel,
        credential=app_credential(application),
        ip=clean_ip(ip),
        user_agent=clip_user_agent(user_agent),
    )


def audit_app_event(
    *,
    principal: Principal,
    action: AuditAction,
    application: OAuthApplication,
    project: Project | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Audit something that happened to an app's access: the app is the target, its client id in the data."""
    audit_record(
        principal=principal,
        action=action,
        target=application,
        target_label=app_label(application),
        project=project,
        data={"client_id": application.client_id, **(data or {})},
    )

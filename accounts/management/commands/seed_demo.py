"""Idempotent demo data: organization `demo`, a demo user, a project and a document."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit.owner_access import OwnerCommand
from accounts.content.models import Document, Project
from accounts.content.services import document_create, project_create
from accounts.core.permissions import TOKEN_SCOPES, Role
from accounts.core.principal import Channel, Principal
from accounts.orgs.models import Membership, Organization
from accounts.orgs.services import organization_create
from accounts.users.models import User
from accounts.users.services import user_create
from apikeys.selectors import apikey_list
from apikeys.services import apikey_create, apikey_revoke

DEMO_EMAIL = "demo@gatehouse.local"
DEMO_PASSWORD = "gatehouse-demo"  # noqa: S105 - a published development credential, see README
DEMO_KEY_NAME = "Demo key (seed_demo)"
WELCOME = """# Welcome to Gatehouse

This document lives in the **Handbook** project of the *Demo* organization.

- AI clients connected to this organization can read it through the MCP endpoint.
- Every change is recorded in the audit log.
"""


class Command(OwnerCommand):
    owner_reason = "creates the demo organization, its members and content"

    help = "Create (or keep) the demo organization, user, project and document, and say how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            user = User.objects.filter(email=DEMO_EMAIL).first()
            if user is None:
                user = user_create(email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Demo User")
            if not user.email_verified:  # a made-up address: no inbox to confirm it from
                User.objects.filter(pk=user.pk).update(email_verified_at=timezone.now())
                user.refresh_from_db(fields=["email_verified_at"])
            org = Organization.objects.filter(slug="demo").first()
            if org is None:
                org = organization_create(user=user, name="Demo", slug="demo")
            membership = Membership.objects.for_org(org).get_or_create(
                user=user, defaults={"role": Role.OWNER}
            )[0]
            principal = Principal(
                user=user, organization=org, role=Role(membership.role), channel=Channel.SYSTEM
            )
            project = Project.objects.for_org(org).filter(slug="handbook").first()
            if project is None:
                project = project_create(
                    principal=principal,
                    name="Handbook",
                    slug="handbook",
                    description="How we work, for people and AI clients alike.",
                )
            if not Document.objects.for_org(org).filter(project=project).exists():
                document_create(principal=principal, project=project, title="Welcome", body=WELCOME)
            # A fresh key on every run, the previous one revoked: its plaintext was never stored.
            for old_key in apikey_list(principal=principal).filter(name=DEMO_KEY_NAME, created_by=user):
                apikey_revoke(principal=principal, key=old_key)
            demo_key, plaintext = apikey_create(
                principal=principal,
                name=DEMO_KEY_NAME,
                scopes=[scope.value for scope in TOKEN_SCOPES if principal.can(scope)],
            )

        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"  Dashboard: {settings.PUBLIC_URL}/")
        self.stdout.write(f"  Sign in:   {DEMO_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(
            f"  API key:   {plaintext}  ({demo_key.public_id}, every scope; a new one each run)"
        )
        self.stdout.write(
            f'  Try:       curl -H "Authorization: Bearer {plaintext}" {settings.PUBLIC_URL}/api/v1/projects/'
        )
        self.stdout.write(f"  MCP:       {settings.MCP_RESOURCE_URL}  (Authorization: Bearer <the API key>)")
        self.stdout.write(
            f"  Claude:    claude mcp add --transport http gatehouse {settings.MCP_RESOURCE_URL} "
            f'--header "Authorization: Bearer {plaintext}"'
        )

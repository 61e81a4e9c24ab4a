"""`manage.py apikey create|list|revoke|expire`: keys for operators and CI, audited as channel `system`."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.audit.owner_access import OwnerCommand
from accounts.content.selectors import project_get
from accounts.core.principal import Channel, system_principal
from accounts.core.toolpolicy import PolicyPreset, ToolMode, tool_policy_from_names
from accounts.orgs.models import Organization
from accounts.orgs.selectors import principal_for_member
from accounts.users.models import User
from apikeys.models import ApiKey
from apikeys.selectors import apikey_get, apikey_list, org_first_owner
from apikeys.services import apikey_create, apikey_expire_due, apikey_revoke


def _tools(key: ApiKey) -> str:
    """The key's tool policy on one line: its preset, or each tool that is not hidden."""
    policy = key.policy
    if policy.preset != PolicyPreset.CUSTOM:
        return policy.preset.value
    shown = [
        f"{name}" + ("(approval)" if mode == ToolMode.APPROVAL else "")
        for name, mode in policy.describe().items()
        if mode != ToolMode.HIDDEN
    ]
    return ",".join(shown) or "none"


class Command(OwnerCommand):
    owner_reason = "manages the API keys of any organization from the operator's shell"

    help = "Create, list, revoke API keys, and record the expiry of expired ones (run `expire` from cron)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it, once.")
        create.add_argument("--org", required=True, help="Organization slug.")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--scopes", required=True, help="Comma-separated, e.g. projects:read,documents:read."
        )
        create.add_argument("--project", help="Restrict the key to this project slug.")
        create.add_argument("--expires-days", type=int, help="Expire after N days (default: never).")
        create.add_argument("--user", help="Email of the member the key acts as (default: the first owner).")
        create.add_argument(
            "--tools",
            help="MCP tools the key may call, comma-separated (every other is hidden); or `read-only`, "
            "or `all` (the default: everything the scopes allow).",
        )
        create.add_argument(
            "--approve", help="MCP tools that need a person's approval for each call, comma-separated."
        )
        listing = sub.add_parser("list", help="List the organization's keys (after recording expiries).")
        listing.add_argument("--org", required=True)
        listing.add_argument("--all", action="store_true", help="Include revoked and expired keys.")
        revoke = sub.add_parser("revoke", help="Revoke a key by its id (key_…).")
        revoke.add_argument("--org", required=True)
        revoke.add_argument("key_id")
        expire = sub.add_parser("expire", help="Record `apikey.expired` for keys past their expiry.")
        expire.add_argument("--org", help="One organization (default: all).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(**options)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        except PermissionDenied as error:
            raise CommandError(str(error) or "Not allowed.") from None

    def _org(self, slug: str) -> Organization:
        try:
            return Organization.objects.get(slug=slug)
        except Organization.DoesNotExist:
            raise CommandError(f"No organization with slug {slug!r}.") from None

    def _create(self, **options: Any) -> None:
        org = self._org(options["org"])
        if options["user"]:
            user = User.objects.filter(email__iexact=options["user"]).first()
            if user is None:
                raise CommandError(f"No user with email {options['user']!r}.")
        else:
            try:
                user = org_first_owner(org=org).user
            except ObjectDoesNotExist:
                raise CommandError(f"{org.slug} has no owner; pass --user.") from None
        try:
            principal = principal_for_member(user=user, org_slug=org.slug, channel=Channel.SYSTEM)
        except ObjectDoesNotExist:
            raise CommandError(f"{user.email} is not a member of {org.slug}.") from None
        project = None
        if options["project"]:
            try:
                project = project_get(principal=principal, slug=options["project"])
            except ObjectDoesNotExist:
                raise CommandError(f"No project {options['project']!r} in {org.slug}.") from None
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be 1 or more.")
        key, plaintext = apikey_create(
            principal=principal,
            name=options["name"],
            scopes=[scope.strip() for scope in options["scopes"].split(",") if scope.strip()],
            project=project,
            expires_at=timezone.now() + timedelta(days=days) if days else None,
            tool_policy=tool_policy_from_names(
                (options["tools"] or "all").split(","), approval=(options["approve"] or "").split(",")
            ),
        )
        # The only time the key is ever printed: stdout of this command, never a log.
        self.stdout.write(plaintext)
        self.stderr.write(
            f"Created {key.public_id} ({key.hint}) acting as {user.email} ({principal.role}), "
            f"scopes {','.join(key.scopes)}, MCP tools {_tools(key)}. Store it now: it cannot be shown again."
        )

    def _list(self, **options: Any) -> None:
        org = self._org(options["org"])
        apikey_expire_due(org=org)
        principal = system_principal(org=org)
        keys = list(apikey_list(principal=principal, valid=True))
        if options["all"]:
            keys += list(apikey_list(principal=principal, valid=False))
        if not keys:
            self.stdout.write(f"No keys in {org.slug}.")
            return
        for key in keys:
            last_used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
            expires = key.expires_at.isoformat(timespec="seconds") if key.expires_at else "never"
            project = key.project.slug if key.project else "*"
            self.stdout.write(
                f"{key.public_id}  {key.hint}  {key.status.value:<8}  {key.name!r}  project={project}  "
                f"scopes={','.join(key.scopes)}  tools={_tools(key)}  by={key.created_by.email}  "
                f"last_used={last_used}  expires={expires}"
            )

    def _revoke(self, **options: Any) -> None:
        org = self._org(options["org"])
        principal = system_principal(org=org)
        try:
            key = apikey_get(principal=principal, public_id=options["key_id"])
        except ObjectDoesNotExist:
            raise CommandError(f"No key {options['key_id']!r} in {org.slug}.") from None
        key = apikey_revoke(principal=principal, key=key)
        self.stdout.write(f"Revoked {key.public_id} ({key.hint}).")

    def _expire(self, **options: Any) -> None:
        orgs = [self._org(options["org"])] if options["org"] else Organization.objects.order_by("id")
        total = 0
        for org in orgs:
            for key in apikey_expire_due(org=org):
                total += 1
                self.stdout.write(f"{org.slug}: {key.public_id} ({key.hint}) expired.")
        self.stdout.write(f"Recorded {total} expired key(s).")

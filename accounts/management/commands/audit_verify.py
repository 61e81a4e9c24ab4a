"""`manage.py audit_verify [--org SLUG] [--seal]`: recompute every organization's audit hash chain."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.audit import checkpoints
from accounts.audit.chain import seal_pending, verify_chain
from accounts.audit.owner_access import OwnerCommand
from accounts.orgs.models import Organization


class Command(OwnerCommand):
    owner_reason = "verifies the audit chain of every organization"

    help = (
        "Recompute the audit log's keyed hash chain of every organization (or one), compare it with its "
        "latest signed checkpoint, and report the first broken link. Exits with status 1 when any chain "
        "is broken; run it from cron or CI."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", metavar="SLUG", help="verify this organization only")
        parser.add_argument(
            "--seal",
            action="store_true",
            help="first seal events still waiting for it (left behind by a crash between commit and sealing)",
        )

    def handle(self, *args: Any, org: str | None = None, seal: bool = False, **options: Any) -> None:
        organizations = Organization.objects.order_by("slug")
        if org is not None:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"no organization with the slug {org!r}")
        broken = 0
        for organization in organizations.iterator():
            if seal and (sealed := seal_pending(org_id=organization.pk)):
                self.stdout.write(f"{organization.slug}: sealed {sealed} pending events")
            report = verify_chain(org=organization)
            if not report.ok:
                broken += 1
                event = f" (event id {report.broken_event_id})" if report.broken_event_id is not None else ""
                self.stderr.write(
                    self.style.ERROR(
                        f"{organization.slug}: BROKEN at #{report.broken_seq}{event}: {report.reason}"
                        f" ({report.checked} events verified before it)"
                    )
                )
                continue
            self.stdout.write(self.style.SUCCESS(f"{organization.slug}: ok: {report.checked} events"))
            if report.pending:
                # Normal for a moment after a commit; lasting, it means sealing fails (see the logs).
                self.stdout.write(
                    self.style.WARNING(
                        f"{organization.slug}: {report.pending} events not sealed yet (--seal seals them)"
                    )
                )
        if org is None:
            known = set(Organization.objects.values_list("public_id", flat=True))
            for missing in checkpoints.orphans(known_public_ids=known):
                broken += 1
                self.stderr.write(
                    self.style.ERROR(f"{missing}: checkpointed, but the organization and its log are gone")
                )
        if broken:
            raise CommandError(f"the audit chain of {broken} organization(s) is broken")

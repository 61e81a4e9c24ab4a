"""`manage.py audit_checkpoint [--org SLUG]`: write a signed checkpoint of every audit chain's head."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.audit import checkpoints
from accounts.audit.chain import seal_pending
from accounts.audit.models import AuditChainHead
from accounts.audit.owner_access import OwnerCommand
from accounts.orgs.models import Organization


class Command(OwnerCommand):
    owner_reason = "signs a checkpoint of every organization's audit chain"

    help = (
        "Seal pending audit events, then append a signed checkpoint of each organization's chain head to "
        "AUDIT_CHECKPOINT_DIR. Run it from cron (hourly, say) and copy that directory off the host: "
        "audit_verify compares the chains with it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", metavar="SLUG", help="this organization only")

    def handle(self, *args: Any, org: str | None = None, **options: Any) -> None:
        organizations = Organization.objects.order_by("slug")
        if org is not None:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"no organization with the slug {org!r}")
        for organization in organizations.iterator():
            seal_pending(org_id=organization.pk)
            head = AuditChainHead.objects.filter(organization=organization).first()
            if head is None:
                continue  # nothing was ever audited here: nothing to anchor
            checkpoint = checkpoints.write_for_head(head)
            self.stdout.write(f"{organization.slug}: checkpoint at #{checkpoint.seq} ({checkpoint.at})")
        self.stdout.write(f"Checkpoints are in {checkpoints.directory()}.")

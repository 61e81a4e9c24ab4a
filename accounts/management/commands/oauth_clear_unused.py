"""`manage.py oauth_clear_unused [--days N] [--dry-run]`: remove OAuth app registrations nobody uses."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from accounts.audit.owner_access import OwnerCommand
from accounts.oauth.services import application_clear_unused


class Command(OwnerCommand):
    owner_reason = "deletes unused OAuth clients and their tokens in every organization"

    help = (
        "Delete dynamically registered (and CIMD) OAuth apps that were registered more than N days ago and "
        "have not been used since: no live connection, no consent and no token use in that time. Anyone can "
        "register an app, so run this daily from cron. Also run DOT's `cleartokens` for expired tokens."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=settings.OAUTH_UNUSED_CLIENT_DAYS,
            help="unused for this many days (default: OAUTH_UNUSED_CLIENT_DAYS, %(default)s)",
        )
        parser.add_argument("--dry-run", action="store_true", help="only count them")

    def handle(self, *args: Any, days: int, dry_run: bool = False, **options: Any) -> None:
        count = application_clear_unused(days=days, dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        self.stdout.write(f"{verb} {count} unused OAuth app registration(s) older than {days} days")

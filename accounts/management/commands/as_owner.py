"""`manage.py as_owner --reason "…" COMMAND [ARGS…]`: run any command past row-level security, recorded."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit.owner_access import owner_connection


class Command(BaseCommand):
    help = (
        "Run a management command as the database owner, which row-level security does not restrict "
        "(DATABASE_OWNER_URL). The run, its command and your reason are recorded in the owner-access log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reason", required=True, help="why this needs every organization's rows")
        parser.add_argument("name", metavar="COMMAND")
        parser.add_argument("arguments", nargs=argparse.REMAINDER)

    def handle(self, *args: Any, reason: str, name: str, arguments: list[str], **options: Any) -> None:
        if not reason.strip():
            raise CommandError("--reason must say why")
        with owner_connection(command=name, reason=reason.strip()):
            call_command(name, *arguments)

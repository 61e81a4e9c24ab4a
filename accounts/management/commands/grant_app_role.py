"""`manage.py grant_app_role ROLE [--create]`: the role Gatehouse logs in as, bound by row-level security."""

from __future__ import annotations

import os
import re
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connection

from accounts.audit.owner_access import OwnerCommand
from accounts.core.rls_policies import grant_sql

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Command(OwnerCommand):
    help = (
        "Grant the application role what it needs (rows of every table, no DDL, no TRUNCATE), now and "
        "for the tables later migrations create. With --create, create it first: LOGIN, and no "
        "superuser, BYPASSRLS, CREATEDB or CREATEROLE; its password from the environment variable "
        "named by --password-env. Refuses a role that owns the tables or could bypass row-level security."
    )
    owner_reason = "grants the application role its privileges"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role")
        parser.add_argument("--create", action="store_true", help="create the role if it does not exist")
        parser.add_argument("--password-env", metavar="VAR", help="environment variable holding its password")

    def handle(self, *args: Any, role: str, create: bool, password_env: str | None, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("row-level security needs PostgreSQL")
        if not IDENTIFIER.match(role):
            raise CommandError("the role must be a plain lower-case identifier")
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
            row = cursor.fetchone()
            if row is None:
                if not create:
                    raise CommandError(f"no role {role!r} (--create creates it)")
                password = os.environ.get(password_env, "") if password_env else ""
                cursor.execute(
                    f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
                    + (" PASSWORD %s" if password else ""),
                    [password] if password else None,
                )
            elif row[0]:
                raise CommandError(
                    f"{role!r} is a superuser or has BYPASSRLS: row-level security would not bind it"
                )
            cursor.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = %s", [role]
            )
            if cursor.fetchone()[0]:
                raise CommandError(f"{role!r} owns tables: row-level security does not bind their owner")
            for statement in grant_sql(role):
                cursor.execute(statement)
        self.stdout.write(self.style.SUCCESS(f"{role}: granted; set DATABASE_URL to log in as it"))

"""`manage.py migrate` as the tables' owner (accounts/audit/owner_access.py): a migration changes every
organization's rows and the tables themselves, which the application role may not."""

from __future__ import annotations

from django.core.management.commands import migrate

from accounts.audit.owner_access import OwnerCommand


class Command(OwnerCommand, migrate.Command):
    owner_reason = "schema migration"

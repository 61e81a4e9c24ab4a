"""The explicit, audited way past row-level security: the tables' owner, for what spans organizations.

The application logs in as a role the policies bind (accounts/core/rls.py). Migrations and the
management commands that work on every organization at once (audit verification and checkpoints,
token cleanup, the demo seed) instead connect with `DATABASE_OWNER_URL` for their whole run, through
`owner_connection()`; any other command can be run so only explicitly, with a reason:
`manage.py as_owner --reason "…" COMMAND …`. Each run is recorded (`OwnerAccess`, before it starts
and when it ends) and logged. Without `DATABASE_OWNER_URL` (SQLite, or a deployment with one role)
the command runs on the usual connection and is recorded all the same.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any

import environ
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import timezone

from accounts.audit.models import OwnerAccess

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def owner_connection(*, command: str, reason: str) -> Iterator[None]:
    """Run the block on the owner's connection (when configured), recorded in `OwnerAccess`."""
    conn = connections[DEFAULT_DB_ALIAS]
    saved = dict(conn.settings_dict)
    if settings.DATABASE_OWNER_URL:
        conn.close()
        owner = environ.Env.db_url_config(settings.DATABASE_OWNER_URL)
        conn.settings_dict.update(
            {key: owner[key] for key in ("USER", "PASSWORD", "HOST", "PORT") if key in owner}
        )
    logger.warning("Database owner connection for %r: %s", command, reason)
    started = timezone.now()
    try:
        access = _record(command=command, reason=reason, started_at=started)
        outcome = "error"
        try:
            yield
            outcome = "ok"
        finally:
            if access is not None:
                OwnerAccess.objects.filter(pk=access.pk).update(finished_at=timezone.now(), outcome=outcome)
            else:  # the first `migrate` creates the table it is recorded in
                _record(
                    command=command,
                    reason=reason,
                    started_at=started,
                    finished_at=timezone.now(),
                    outcome=outcome,
                )
    finally:
        if settings.DATABASE_OWNER_URL:
            conn.close()
            conn.settings_dict.clear()
            conn.settings_dict.update(saved)


def _record(*, command: str, reason: str, **fields: Any) -> Any:
    try:
        return OwnerAccess.objects.create(
            command=command[:200],
            reason=reason[:200],
            os_user=_os_user(),
            host=socket.gethostname()[:200],
            pid=os.getpid(),
            **fields,
        )
    except DatabaseError:  # `migrate` on an empty database: the table comes with the migration
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            raise
        return None


def _os_user() -> str:
    try:
        return getpass.getuser()[:100]
    except (KeyError, OSError):
        return ""


class OwnerCommand(BaseCommand):
    """A management command that works on every organization: it runs as the owner, recorded.

    Subclasses say why in `owner_reason`.
    """

    owner_reason = ""

    def execute(self, *args: Any, **options: Any) -> str | None:
        if not self.owner_reason:
            raise TypeError(f"{type(self).__module__} must say why it needs the owner (owner_reason)")
        name = type(self).__module__.rsplit(".", 1)[-1]
        with owner_connection(command=name, reason=self.owner_reason):
            return super().execute(*args, **options)

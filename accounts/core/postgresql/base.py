"""Django's PostgreSQL backend, plus the tenant scope of row-level security on every transaction.

Settings switch `django.db.backends.postgresql` to this engine (config/settings.py). The connection
carries the scope its thread is working in (accounts/core/rls.py sets it); before the first statement
of each transaction the scope is applied (one `set_config` statement, transaction-local), and a
statement outside any transaction (autocommit) runs in a transaction of its own so that it gets the
scope too. Nothing happens without a scope: then the policies show nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.backends.postgresql import base

from accounts.core import rls

# Savepoints are statements too; they need no scope, and may run in a transaction that failed.
_TRANSACTION_CONTROL = ("SAVEPOINT", "ROLLBACK", "RELEASE")


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant_scope: rls.Scope | None = None  # what this thread works in
        self.tenant_scope_applied: rls.Scope | None = None  # what the current transaction has
        self._applying = False
        self.execute_wrappers.append(self._in_scope)

    def set_autocommit(self, autocommit: bool, *args: Any, **kwargs: Any) -> None:
        super().set_autocommit(autocommit, *args, **kwargs)
        self.tenant_scope_applied = None  # a transaction begins or ends: its settings with it

    def _savepoint_rollback(self, sid: str) -> None:
        super()._savepoint_rollback(sid)  # type: ignore[misc]
        self.tenant_scope_applied = rls.UNKNOWN  # back to what the savepoint saw: apply again

    def _in_scope(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        if self._applying or sql.startswith(_TRANSACTION_CONTROL):
            return execute(sql, params, many, context)
        if not self.in_atomic_block:
            if self.tenant_scope is None:
                return execute(sql, params, many, context)
            with transaction.atomic(using=self.alias):
                return self._in_scope(execute, sql, params, many, context)
        if self.tenant_scope_applied != self.tenant_scope:
            self.apply_tenant_scope()
        return execute(sql, params, many, context)

    def apply_tenant_scope(self, *, secret: tuple[str, str] | None = None) -> rls.Scope | None:
        """Give the current transaction this thread's scope now (see rls.apply)."""
        self._applying = True
        try:
            self.tenant_scope = rls.apply(self, self.tenant_scope, secret=secret)
        finally:
            self._applying = False
        self.tenant_scope_applied = self.tenant_scope
        return self.tenant_scope

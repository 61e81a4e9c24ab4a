"""PostgreSQL row-level security: the database's own copy of the tenancy rule, as a second wall.

The first wall is `accounts.core.tenancy` (a query must name its organization). This one holds even
when a code path forgets: on PostgreSQL every org-owned table has a policy (migration accounts 0008,
`accounts.core.rls_policies`) that shows a row only to a transaction whose *scope* names its
organization, so a raw query that forgets the organization returns nothing and an insert into
another organization is refused. The application connects as a role that does not own the tables
and cannot bypass the policies (docs/operations.md, "Row-level security"); migrations and the
commands that span organizations connect as the owner, through `accounts.audit.owner_access`.

A scope is set per transaction (`set_config(…, true)`), never per session, so a connection pooler in
transaction mode cannot carry one request's organization into another's. Each thread's connection
carries the scope it works in, and the database backend (accounts/core/postgresql/base.py) applies
it to every transaction before its first statement. Scopes are entered where the principal is
known, in one place per channel:

- the dashboard, the REST API and the OAuth endpoints: `TenantScopeMiddleware` scopes the request to
  the signed-in person; `narrow()` then adds the organization once the principal exists
  (`OrgViewMixin`, the REST API's bearer authentication);
- MCP: `mcpserver.db.run_db` runs each call in a transaction scoped to the caller's organization;
- a bearer token, an authorization code, a refresh token or an invitation link is looked up before
  its organization is known: `scope_of_secret()` asks a SECURITY DEFINER function, in the statement
  that sets the scope, for the one organization holding that secret;
- the audit writer and sealer scope each organization they write.

Outside PostgreSQL (SQLite in development and the default test run) there is no second wall and
these are no-ops; in CI the suite runs on PostgreSQL with every scope as a role the policies bind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponseBase

from accounts.core import outage

ORG = "gatehouse.org"
USER = "gatehouse.user"
EMAIL = "gatehouse.email"

# What a secret is, for `scope_of_secret()`: the kinds the SQL function gatehouse_org_of() knows.
SECRET_KINDS = frozenset({"apikey", "access_token", "refresh_token", "token", "grant", "invitation"})
Secret = tuple[str, str]  # (kind, lookup)


@dataclass(frozen=True)
class Scope:
    """Whose rows a transaction may see: an organization, and the signed-in person's own rows."""

    organization_id: int | None = None
    user_id: int | None = None
    email: str = ""  # a confirmed address, lower-cased: the person's own invitations


# What a transaction has when a failure or a rollback to a savepoint may have changed its settings.
UNKNOWN = Scope(organization_id=-1)


def enforced(connection: BaseDatabaseWrapper | None = None) -> bool:
    """Whether this connection applies scopes (PostgreSQL, through our backend); elsewhere no-ops."""
    return hasattr(connection or connections["default"], "tenant_scope")


def current(connection: BaseDatabaseWrapper | None = None) -> Scope | None:
    """The scope the connection's thread works in, or None."""
    return getattr(connection or connections["default"], "tenant_scope", None)


def apply(conn: BaseDatabaseWrapper, scope: Scope | None, *, secret: Secret | None = None) -> Scope | None:
    """Set the current transaction's scope in ONE statement and return it. With `secret` (kind, lookup)
    the organization is the one `gatehouse_org_of()` finds for that secret, in the same statement."""
    blank = scope or Scope()
    org_sql, org_params = "%s", [_text(blank.organization_id)]
    if secret is not None:
        org_sql, org_params = "COALESCE(gatehouse_org_of(%s, %s)::text, '')", list(secret)
    sql = (
        f"SELECT set_config('{ORG}', {org_sql}, true), set_config('{USER}', %s, true),"
        f" set_config('{EMAIL}', %s, true)"
    )
    params: list[Any] = [*org_params, _text(blank.user_id), blank.email]
    if settings.DATABASE_APP_ROLE:
        # The login role owns the tables: a scope runs as the application role; outside any, as the login.
        sql += ", set_config('role', %s, true)"
        params.append(settings.DATABASE_APP_ROLE if scope is not None else "none")
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        if secret is not None:
            found = cursor.fetchone()[0]
            return Scope(int(found) if found else None, blank.user_id, blank.email)
    return scope


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


def _enter(conn: Any, scope: Scope | None) -> None:
    conn.tenant_scope = scope
    if conn.in_atomic_block and conn.tenant_scope_applied != scope and not conn.needs_rollback:
        conn.apply_tenant_scope()  # the transaction under way changes scope now, not at its next one


@contextlib.contextmanager
def tenant_scope(
    *, organization_id: int | None = None, user_id: int | None = None, email: str = "", using: str = "default"
) -> Iterator[None]:
    """Everything the block does on the database is scoped to this organization and person; the
    enclosing scope comes back afterwards."""
    conn = connections[using]
    if not enforced(conn):
        yield
        return
    outer = current(conn)
    try:
        _enter(conn, Scope(organization_id, user_id, email.lower()))
        yield
    except BaseException:
        _leave(conn, outer)
        raise
    _enter(conn, outer)


def _leave(conn: Any, scope: Scope | None) -> None:
    # On the way out of a failure the transaction may be aborted: no statement now; the next one
    # applies the scope again.
    conn.tenant_scope, conn.tenant_scope_applied = scope, UNKNOWN


def tenant_transaction(
    *, organization_id: int, using: str = "default"
) -> contextlib.AbstractContextManager[Any]:
    """One transaction of one organization's work."""
    stack = contextlib.ExitStack()
    stack.enter_context(tenant_scope(organization_id=organization_id, using=using))
    stack.enter_context(transaction.atomic(using=using))
    return stack


def narrow(*, organization_id: int, using: str = "default") -> None:
    """Add the organization to the scope of the request under way, once its principal is known.

    Within `TenantScopeMiddleware` (the dashboard, the REST API, OAuth); the scope ends with the request.
    """
    conn = connections[using]
    scope = current(conn)
    if scope is not None and scope.organization_id != organization_id:
        _enter(conn, Scope(organization_id, scope.user_id, scope.email))


@contextlib.contextmanager
def scope_of_secret(*, kind: str, lookup: str, using: str = "default") -> Iterator[int | None]:
    """A transaction scoped to the organization holding this secret (a digest, checksum or code).

    The SQL function `gatehouse_org_of(kind, lookup)` runs as the tables' owner and answers only the
    organization of the one row matching the secret: knowing the secret is the authorization, and
    without it nothing is learned. Yields that organization's id (None: no such secret, and the
    block then sees no org-owned rows). One statement, like any scope.
    """
    if kind not in SECRET_KINDS:
        raise ValueError(f"unknown secret kind {kind!r}")
    conn: Any = connections[using]
    if not enforced(conn):
        yield None
        return
    outer = current(conn)
    person = outer or Scope()
    try:
        with transaction.atomic(using=using):
            conn.tenant_scope = Scope(None, person.user_id, person.email)
            found = conn.apply_tenant_scope(secret=(kind, lookup))
            yield found.organization_id if found else None
    except BaseException:
        _leave(conn, outer)
        raise
    _enter(conn, outer)


# Answers that read no table: finding their signed-in person would cost them a session read, and
# fail them during a database outage. Anything of a tenant's they did read would be hidden: fail-closed.
UNSCOPED_PATHS = ("/.well-known/", "/static/", "/favicon.ico", "/api/v1/schema/", "/api/v1/docs/")


class TenantScopeMiddleware:
    """Each dashboard, REST and OAuth request works in the scope of its signed-in person (or none).

    Views then `narrow()` it to the organization of their principal. Placed after the
    authentication middleware (which reads only sessions and users, tables without tenants).
    A streaming response's body is produced after this returns, so such views read what they
    stream inside a scope of their own.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not enforced() or request.path_info.startswith(UNSCOPED_PATHS):
            return self.get_response(request)  # type: ignore[no-any-return]
        user = getattr(request, "user", None)
        user_id, email = None, ""
        try:
            if user is not None and user.is_authenticated:  # reads the session and the user
                user_id = user.pk
                email = user.email if getattr(user, "email_verified", False) else ""
            # Inside a transaction already (a test's), the scope is applied at once, here.
            with tenant_scope(user_id=user_id, email=email):
                return self.get_response(request)  # type: ignore[no-any-return]
        except outage.OUTAGE_ERRORS as error:  # the view's own errors come back as responses
            return outage.unavailable_response(request, error)

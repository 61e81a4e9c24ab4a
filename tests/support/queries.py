"""Query counts with row-level security: what its scopes add on PostgreSQL, and nothing elsewhere.

A scope is one statement of settings, applied before the first statement of a transaction
(accounts/core/rls.py, accounts/core/postgresql/base.py). The Django test client's requests run inside
the test's transaction, where a request's scope is applied at its first query and cleared at its end;
the MCP pool's calls are transactions of their own, whose BEGIN and COMMIT Django does not count.
"""

from __future__ import annotations

from django.db import connection

# A dashboard, REST or OAuth request that queries anything: its person's scope, and clearing it.
REQUEST = 2
# The page's or the token's organization added to the request's scope.
NARROW = 1
# A bearer token looked up by its secret in its own transaction (a savepoint in the test's): SAVEPOINT,
# the statement finding its organization and scoping to it, the enclosing scope back, RELEASE.
SECRET = 4
# A scope entered and left inside a transaction (a credential's last-use stamp, a chunk of an export):
# its settings, and the enclosing ones back.
NESTED = 2
# A transaction of its own (an MCP call in the pool): the settings.
SCOPE = 1
# A service's transaction inside such a call: SAVEPOINT and RELEASE.
SAVEPOINT = 2


def with_rls(queries: int, *, statements: int) -> int:
    """`queries`, plus `statements` of row-level security where the database has it."""
    return queries + statements if connection.vendor == "postgresql" else queries

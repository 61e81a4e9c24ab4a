"""The row-level security policies of every org-owned table, and the SQL functions they use.

Installed on PostgreSQL by migration accounts 0008 (elsewhere nothing: SQLite has no RLS). A row is
visible, and may be written, only in a transaction whose scope (accounts/core/rls.py) names its
organization, or, for a signed-in person's scope not narrowed to one organization, one they belong
to (TENANT below). A person also sees their own memberships and the invitations to their confirmed
address. OAuth rows without an organization belong to no tenant: client registration tokens
(RFC 7592), and a code between django-oauth-toolkit's INSERT and the UPDATE binding it to the chosen
organization (accounts/oauth/validators.py), which cannot be exchanged before that.
`tests/accounts/core/test_rls.py` checks that every model with an organization is listed here and
that the database enforces each policy for the application role.

Not org-owned, so without policies: organizations and users themselves, sessions, OAuth clients.
`accounts_credentialgeneration` holds one counter per organization and no tenant data; every
process reads it for every cached credential (mcpserver/generations.py reads many organizations'
counters in one statement), so it is readable by all and written only by its triggers.
"""

from __future__ import annotations

from dataclasses import dataclass

ORG = "organization_id = gatehouse_org()"
# The rows of the scope's organization; in a person's scope not narrowed to one organization (their
# account pages: Connected apps, a password change revoking everywhere), of every organization they
# belong to. A person's tenant boundary is their memberships; a token's is its one organization.
TENANT = (
    f"{ORG} OR (gatehouse_org() IS NULL AND organization_id IN "  # noqa: S608 - constants
    "(SELECT m.organization_id FROM accounts_membership m WHERE m.user_id = gatehouse_user()))"
)


@dataclass(frozen=True)
class Policy:
    table: str
    using: str  # which rows a scope sees, updates and deletes
    check: str = TENANT  # which rows it may insert or update into


POLICIES = [
    Policy("accounts_project", TENANT),
    Policy("accounts_document", TENANT),
    Policy("apikeys_apikey", TENANT),
    Policy("accounts_auditevent", TENANT),
    Policy("accounts_auditchainhead", TENANT),
    # Not TENANT, which reads this table: a policy may not recurse. A person sees their own memberships
    # (the organization switcher) and, in an organization's scope, its members; joins need that scope.
    Policy("accounts_membership", f"{ORG} OR user_id = gatehouse_user()", ORG),
    Policy("accounts_invitation", f"{TENANT} OR lower(email) = gatehouse_email()"),
    *(
        Policy(table, f"{TENANT} OR organization_id IS NULL", f"{TENANT} OR organization_id IS NULL")
        for table in ("accounts_oauthgrant", "accounts_oauthaccesstoken", "accounts_oauthrefreshtoken")
    ),
]

# Functions the policies call: the scope's settings, blank outside a scope (so nothing matches).
_SETTINGS = """
CREATE OR REPLACE FUNCTION gatehouse_org() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('gatehouse.org', true), '')::bigint $$;
CREATE OR REPLACE FUNCTION gatehouse_user() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('gatehouse.user', true), '')::bigint $$;
CREATE OR REPLACE FUNCTION gatehouse_email() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('gatehouse.email', true), '') $$;
"""

# The organization holding one secret, for a transaction that has only the secret (rls.scope_of_secret):
# run as the owner (SECURITY DEFINER), it answers for the exact secret only.
_ORG_OF = """
CREATE OR REPLACE FUNCTION gatehouse_org_of(kind text, lookup text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT CASE kind
        WHEN 'apikey' THEN (SELECT organization_id FROM apikeys_apikey WHERE digest = lookup)
        WHEN 'access_token' THEN
            (SELECT organization_id FROM accounts_oauthaccesstoken WHERE token_checksum = lookup)
        WHEN 'refresh_token' THEN
            (SELECT organization_id FROM accounts_oauthrefreshtoken WHERE token_checksum = lookup)
        WHEN 'token' THEN COALESCE(
            (SELECT organization_id FROM accounts_oauthaccesstoken WHERE token_checksum = lookup),
            (SELECT organization_id FROM accounts_oauthrefreshtoken WHERE token_checksum = lookup))
        WHEN 'grant' THEN (SELECT organization_id FROM accounts_oauthgrant WHERE code = lookup)
        WHEN 'invitation' THEN (SELECT organization_id FROM accounts_invitation WHERE token_hash = lookup)
    END $$;
"""

# The audit sealer's sweep (accounts/audit/chain.py): which organizations have events a dead process
# left unsealed. Only ids leave it; each organization is then sealed in its own scope.
_LEFT_UNSEALED = """
CREATE OR REPLACE FUNCTION gatehouse_orgs_left_unsealed(committed_before timestamptz) RETURNS SETOF bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT DISTINCT organization_id FROM accounts_auditevent
    WHERE hash = '' AND created_at < committed_before ORDER BY 1
$$;
"""

FUNCTIONS = ["gatehouse_org()", "gatehouse_user()", "gatehouse_email()", "gatehouse_org_of(text, text)"]
FUNCTIONS.append("gatehouse_orgs_left_unsealed(timestamptz)")


def install_sql() -> list[str]:
    statements = [_SETTINGS, _ORG_OF, _LEFT_UNSEALED]
    for policy in POLICIES:
        statements += [
            f"ALTER TABLE {policy.table} ENABLE ROW LEVEL SECURITY;",
            f"DROP POLICY IF EXISTS tenant ON {policy.table};",
            f"CREATE POLICY tenant ON {policy.table} USING ({policy.using}) WITH CHECK ({policy.check});",
        ]
    statements += [
        "ALTER TABLE accounts_credentialgeneration ENABLE ROW LEVEL SECURITY;",
        "DROP POLICY IF EXISTS readable ON accounts_credentialgeneration;",
        "CREATE POLICY readable ON accounts_credentialgeneration FOR SELECT USING (true);",
    ]
    return statements


def uninstall_sql() -> list[str]:
    statements = []
    for table in [p.table for p in POLICIES] + ["accounts_credentialgeneration"]:
        statements += [
            f"DROP POLICY IF EXISTS tenant ON {table};",
            f"DROP POLICY IF EXISTS readable ON {table};",
            f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;",
        ]
    return statements + [f"DROP FUNCTION IF EXISTS {f};" for f in FUNCTIONS]


def grant_sql(role: str) -> list[str]:
    """What the application role needs, and no more: rows, not tables (no TRUNCATE, no DDL, no owner).

    `role` is a validated identifier (rls_role command); the default privileges cover the tables
    later migrations create.
    """
    return [
        f"GRANT USAGE ON SCHEMA public TO {role};",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role};",
        *(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {rights} TO {role};"
            for rights in (
                "SELECT, INSERT, UPDATE, DELETE ON TABLES",
                "USAGE, SELECT ON SEQUENCES",
                "EXECUTE ON FUNCTIONS",
            )
        ),
    ]

"""The database triggers that bump an organization's `CredentialGeneration` (installed by migrations).

Why triggers: a worker may answer a bearer token from its cache only while nothing that token may do
has changed (accounts/core/credential_cache.py). Such changes are made by services, but also by
`QuerySet.update()`, django-oauth-toolkit's own code, the admin, data migrations and SQL consoles; a
trigger catches all of them, in the same transaction as the change.

Each watched table names the columns whose change never matters to a credential (bookkeeping written
on every use or sign-in, which would otherwise empty every cache once a minute) and how to find the
organizations a row concerns. Every other column is watched: an UPDATE that sets one of them, or a
DELETE, bumps those organizations. INSERTs need no bump: a new row cannot make a cached principal
stale. Migrations call `install()` with the historical models, so a trigger watches the columns its
table had then; tests/accounts/orgs/test_credential_triggers.py fails when a column added later is
neither watched (a new migration calling `install()` again) nor listed as ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENERATION_TABLE = "accounts_credentialgeneration"
# PostgreSQL: the functions run as the tables' owner, because the application role may neither write
# the counters nor see other organizations' memberships (row-level security, accounts/core/rls.py);
# a trigger fired by a change must bump every organization it concerns all the same.
DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, public"


@dataclass(frozen=True)
class Watched:
    model: str  # "app_label.ModelName"
    table: str
    ignored: frozenset[str]
    # SQL selecting the ids of the organizations a row concerns; `{row}` is OLD or NEW.
    organizations: str


WATCHED = {
    "accounts_organization": Watched(
        "accounts.Organization", "accounts_organization", frozenset({"created_at"}), "SELECT {row}.id"
    ),
    "accounts_user": Watched(
        "accounts.User",
        "accounts_user",
        # A sign-in, a password (a change revokes through its service), staff flags and the
        # confirmation date mean nothing to a bearer credential.
        frozenset({"last_login", "password", "is_staff", "is_superuser", "date_joined", "email_verified_at"}),
        "SELECT organization_id FROM accounts_membership WHERE user_id = {row}.id",
    ),
    "accounts_membership": Watched(
        "accounts.Membership",
        "accounts_membership",
        frozenset({"created_at"}),
        "SELECT {row}.organization_id",
    ),
    "accounts_project": Watched(
        "accounts.Project",
        "accounts_project",
        # Editing a project's text is not a change of what a credential may reach.
        frozenset({"name", "description", "created_by_id", "created_at", "updated_at"}),
        "SELECT {row}.organization_id",
    ),
    "apikeys_apikey": Watched(
        "apikeys.ApiKey",
        "apikeys_apikey",
        frozenset({"last_used_at", "last_used_ip", "expiry_recorded_at", "created_at"}),
        "SELECT {row}.organization_id",
    ),
    "accounts_oauthaccesstoken": Watched(
        "accounts.OAuthAccessToken",
        "accounts_oauthaccesstoken",
        frozenset({"last_used_at", "created", "updated"}),
        "SELECT {row}.organization_id",
    ),
    "accounts_oauthapplication": Watched(
        "accounts.OAuthApplication",
        "accounts_oauthapplication",
        frozenset({"created", "updated"}),
        "SELECT organization_id FROM accounts_oauthaccesstoken WHERE application_id = {row}.id",
    ),
}


def _bump(organizations: str, rows: Iterable[str]) -> str:
    where = " OR ".join(f"organization_id IN ({organizations.format(row=row)})" for row in rows)
    return f"UPDATE {GENERATION_TABLE} SET value = value + 1 WHERE {where};"  # noqa: S608 - constants


def _columns(apps: Any, watched: Watched) -> list[str]:
    model = apps.get_model(watched.model)
    return [f.column for f in model._meta.concrete_fields if f.column not in watched.ignored]


def create_sql(vendor: str, watched: Watched, columns: list[str]) -> list[str]:
    update_of = ", ".join(columns)
    name = f"credgen_{watched.table}"
    if vendor == "postgresql":
        return [
            f"""
            CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    {_bump(watched.organizations, ["OLD"])}
                    RETURN OLD;
                END IF;
                {_bump(watched.organizations, ["OLD", "NEW"])}
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql {DEFINER};
            """,
            f"DROP TRIGGER IF EXISTS {name}_update ON {watched.table};",
            f"CREATE TRIGGER {name}_update AFTER UPDATE OF {update_of} ON {watched.table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}();",
            f"DROP TRIGGER IF EXISTS {name}_delete ON {watched.table};",
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON {watched.table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}();",
        ]
    return [
        f"DROP TRIGGER IF EXISTS {name}_update;",
        f"CREATE TRIGGER {name}_update AFTER UPDATE OF {update_of} ON {watched.table} FOR EACH ROW "
        f"BEGIN {_bump(watched.organizations, ['OLD', 'NEW'])} END;",
        f"DROP TRIGGER IF EXISTS {name}_delete;",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {watched.table} FOR EACH ROW "
        f"BEGIN {_bump(watched.organizations, ['OLD'])} END;",
    ]


def drop_sql(vendor: str, watched: Watched) -> list[str]:
    name = f"credgen_{watched.table}"
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {name}_update ON {watched.table};",
            f"DROP TRIGGER IF EXISTS {name}_delete ON {watched.table};",
            f"DROP FUNCTION IF EXISTS {name}();",
        ]
    return [f"DROP TRIGGER IF EXISTS {name}_update;", f"DROP TRIGGER IF EXISTS {name}_delete;"]


def _organization_row_sql(vendor: str) -> list[str]:
    """Every organization has its row from the start (a missing row means: do not cache)."""
    insert = f"INSERT INTO {GENERATION_TABLE} (organization_id, value) VALUES (NEW.id, 0)"  # noqa: S608
    if vendor == "postgresql":
        return [
            f"""
            CREATE OR REPLACE FUNCTION credgen_organization_created() RETURNS trigger AS $$
            BEGIN
                {insert} ON CONFLICT DO NOTHING;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql {DEFINER};
            """,
            "DROP TRIGGER IF EXISTS credgen_organization_created ON accounts_organization;",
            "CREATE TRIGGER credgen_organization_created AFTER INSERT ON accounts_organization "
            "FOR EACH ROW EXECUTE FUNCTION credgen_organization_created();",
        ]
    return [
        "DROP TRIGGER IF EXISTS credgen_organization_created;",
        "CREATE TRIGGER credgen_organization_created AFTER INSERT ON accounts_organization FOR EACH ROW "
        f"BEGIN {insert} ON CONFLICT DO NOTHING; END;",
    ]


def install(apps: Any, schema_editor: Any, *, tables: Iterable[str]) -> None:
    """(Re)create the triggers of `tables` for the columns their models have at this migration."""
    vendor = schema_editor.connection.vendor
    for table in tables:
        for statement in create_sql(vendor, WATCHED[table], _columns(apps, WATCHED[table])):
            schema_editor.execute(statement, params=None)


def install_organization_rows(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for statement in _organization_row_sql(vendor):
        schema_editor.execute(statement, params=None)
    Organization = apps.get_model("accounts", "Organization")
    Generation = apps.get_model("accounts", "CredentialGeneration")
    Generation.objects.bulk_create(
        [Generation(organization_id=pk) for pk in Organization.objects.values_list("pk", flat=True)],
        ignore_conflicts=True,
    )


def uninstall(apps: Any, schema_editor: Any, *, tables: Iterable[str]) -> None:
    vendor = schema_editor.connection.vendor
    for table in tables:
        for statement in drop_sql(vendor, WATCHED[table]):
            schema_editor.execute(statement, params=None)


def uninstall_organization_rows(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS credgen_organization_created ON accounts_organization;")
        schema_editor.execute("DROP FUNCTION IF EXISTS credgen_organization_created();")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS credgen_organization_created;")

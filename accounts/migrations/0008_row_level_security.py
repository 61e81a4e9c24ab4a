"""PostgreSQL row-level security on every org-owned table (accounts/core/rls.py, rls_policies.py)."""

from typing import Any

from django.db import migrations

from accounts.core import rls_policies
from accounts.orgs.credential_triggers import DEFINER, WATCHED

# The credential-generation triggers must bump counters the application role may not write.
TRIGGER_FUNCTIONS = [f"credgen_{table}()" for table in WATCHED] + ["credgen_organization_created()"]


def install(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in rls_policies.install_sql():
        schema_editor.execute(statement, params=None)
    for function in TRIGGER_FUNCTIONS:
        schema_editor.execute(f"ALTER FUNCTION {function} {DEFINER};", params=None)


def uninstall(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in rls_policies.uninstall_sql():
        schema_editor.execute(statement, params=None)
    for function in TRIGGER_FUNCTIONS:
        schema_editor.execute(f"ALTER FUNCTION {function} SECURITY INVOKER RESET search_path;", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_oauth_tool_policy"),
        ("apikeys", "0003_apikey_tool_policy"),
    ]

    operations = [migrations.RunPython(install, uninstall)]

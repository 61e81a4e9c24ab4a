"""An API key's MCP tool policy (accounts/core/toolpolicy.py); its trigger now watches that column too,
so a policy change bumps the organization's credential generation (accounts/orgs/credential_triggers.py)."""

from functools import partial

from django.db import migrations, models

from accounts.orgs import credential_triggers

TABLES = ["apikeys_apikey"]


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0002_credential_generation_trigger"),
    ]

    operations = [
        # Backwards, this runs last: the trigger again watches the columns the table has without the field.
        migrations.RunPython(
            partial(credential_triggers.uninstall, tables=TABLES),
            partial(credential_triggers.install, tables=TABLES),
        ),
        migrations.AddField(
            model_name="apikey",
            name="tool_policy",
            field=models.JSONField(blank=True, default=dict, verbose_name="tool policy"),
        ),
        migrations.RunPython(
            partial(credential_triggers.install, tables=TABLES),
            partial(credential_triggers.uninstall, tables=TABLES),
        ),
    ]

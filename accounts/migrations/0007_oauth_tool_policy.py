"""The MCP tool policy of an OAuth connection, on its grants and tokens (accounts/core/toolpolicy.py).

The access token's trigger now watches that column too, so changing a connection's policy bumps its
organization's credential generation (accounts/orgs/credential_triggers.py). Grants and refresh
tokens are not credentials a worker caches: they need no trigger. SQLite adds a JSON column by
rebuilding the table, which the application's trigger (it reads the access tokens) would not survive:
both triggers are dropped first and installed again after."""

from functools import partial

from django.db import migrations, models

from accounts.orgs import credential_triggers

TABLES = ["accounts_oauthaccesstoken", "accounts_oauthapplication"]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_credential_generation"),
    ]

    operations = [
        # Backwards, this runs last: the triggers again watch the columns the tables have without the field.
        migrations.RunPython(
            partial(credential_triggers.uninstall, tables=TABLES),
            partial(credential_triggers.install, tables=TABLES),
        ),
        migrations.AddField(
            model_name="oauthaccesstoken",
            name="tool_policy",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="oauthgrant",
            name="tool_policy",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="oauthrefreshtoken",
            name="tool_policy",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(
            partial(credential_triggers.install, tables=TABLES),
            partial(credential_triggers.uninstall, tables=TABLES),
        ),
    ]

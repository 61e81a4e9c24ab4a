"""API keys bump their organization's credential generation (accounts/orgs/credential_triggers.py)."""

from functools import partial

from django.db import migrations

from accounts.orgs import credential_triggers

TABLES = ["apikeys_apikey"]


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0001_initial"),
        ("accounts", "0006_credential_generation"),
    ]

    operations = [
        migrations.RunPython(
            partial(credential_triggers.install, tables=TABLES),
            partial(credential_triggers.uninstall, tables=TABLES),
        ),
    ]

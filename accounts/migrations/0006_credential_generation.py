"""A credential generation per organization, bumped by triggers (accounts/orgs/credential_triggers.py)."""

from functools import partial

import django.db.models.deletion
from django.db import migrations, models

from accounts.orgs import credential_triggers

TABLES = [
    "accounts_organization",
    "accounts_user",
    "accounts_membership",
    "accounts_project",
    "accounts_oauthaccesstoken",
    "accounts_oauthapplication",
]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_user_email_verified_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="CredentialGeneration",
            fields=[
                (
                    "organization",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="accounts.organization",
                    ),
                ),
                ("value", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(
            credential_triggers.install_organization_rows, credential_triggers.uninstall_organization_rows
        ),
        migrations.RunPython(
            partial(credential_triggers.install, tables=TABLES),
            partial(credential_triggers.uninstall, tables=TABLES),
        ),
    ]

"""The suite's data, made by Gatehouse's own services after `migrate` and `seed_demo`.

    DATABASE_URL=<the tables' owner> … python -m tests.reliability.seed --out seed.json

Run in a subprocess with the environment `manage.py` gets (tests/reliability/stack.py), so that the
harness itself never imports Django. Writes one JSON file:

- `demo_keys`: fresh API keys of the demo owner, every scope: each scenario takes its own, so a rate
  limit's window starts with the scenario;
- `members`: demo admins, each with a key, whose key is revoked, role lowered or membership removed
  through process A's dashboard (`id` is the membership's public id, `key_id` the key's);
- `oauth`: access tokens (`wat_…`) of the demo owner from a public OAuth client, and its client id;
- `document`: the public id of the demo document the read tools read;
- `writes`, `crash_a`, `crash_b`: organizations of their own with a project `inbox` and a key, which
  the write loads write into (the crash scenario gives each process its own organization, so that
  only the sweep of mcpserver/sealer.py can seal what the killed one left).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import django

# Before any model is imported (bench.prepare, imported below, sets Django up the same way).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import transaction  # noqa: E402

from accounts.content.models import Document  # noqa: E402
from accounts.content.services import project_create  # noqa: E402
from accounts.core.permissions import Role  # noqa: E402
from accounts.core.principal import Channel, Principal  # noqa: E402
from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD  # noqa: E402
from accounts.oauth.tokens import access_token_generator  # noqa: E402
from accounts.orgs.models import Membership, Organization  # noqa: E402
from accounts.users.models import User  # noqa: E402
from accounts.users.services import user_create  # noqa: E402
from apikeys.models import ApiKey  # noqa: E402
from bench.prepare import (  # noqa: E402
    access_token_row,
    bench_application,
    full_key,
    organization,
    system_principal,
)

DEMO_KEYS = 24
MEMBERS = ("revoked", "demoted", "removed")
OAUTH_TOKENS = 3
WRITE_ORGS = ("writes", "crash-a", "crash-b")
PROJECT = "inbox"


def member(org: Organization, name: str) -> dict[str, str]:
    """A demo admin with a key of every scope the role allows."""
    user = user_create(email=f"{name}@reliability.test", password=DEMO_PASSWORD, name=name.title())
    membership = Membership.objects.for_org(org).create(organization=org, user=user, role=Role.ADMIN)
    principal = Principal(user=user, organization=org, role=Role.ADMIN, channel=Channel.SYSTEM)
    plaintext = full_key(principal, f"reliability {name}")
    key = ApiKey.objects.for_org(org).get(created_by=user)
    return {"id": membership.public_id, "key": plaintext, "key_id": key.public_id}


def seed() -> dict[str, Any]:
    owner = User.objects.get(email=DEMO_EMAIL)
    demo = Organization.objects.get(slug="demo")
    principal = system_principal(owner, demo)
    out: dict[str, Any] = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    with transaction.atomic():
        out["demo_keys"] = [full_key(principal, f"reliability {i}") for i in range(DEMO_KEYS)]
        out["members"] = {name: member(demo, name) for name in MEMBERS}
        app = bench_application(owner)
        tokens = [access_token_generator(None) for _ in range(OAUTH_TOKENS)]
        for token in tokens:
            access_token_row(owner, demo, app, token).save()
        out["oauth"] = {"client_id": app.client_id, "tokens": tokens}
        out["document"] = Document.objects.for_org(demo).get(project__slug="handbook").public_id
        for slug in WRITE_ORGS:
            org = organization(owner, f"reliability-{slug}")
            writer = system_principal(owner, org)
            project_create(principal=writer, name="Inbox", slug=PROJECT)
            out[slug.replace("-", "_")] = {"org": org.slug, "key": full_key(writer, "reliability writes")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.out, "w") as f:
        json.dump(seed(), f, indent=1)


if __name__ == "__main__":
    main()

"""The Django side of the benchmark: seed a migrated database, mint credentials, capture the tools' SQL.

    DATABASE_URL=… PUBLIC_URL=http://127.0.0.1:PORT … python -m bench.prepare --out prep.json \
        [--credentials N] [--capture]

Run by bench/run.py in a subprocess with the environment of the Gatehouse server it prepares for
(after `migrate` and `seed_demo`), so that nothing Django-related is imported into the harness.
It writes one JSON file:

- `sk`, `wat`: a demo-organization API key with every scope and an OAuth access token (`wat_…`)
  for the same member, issued to a benchmark OAuth application with every token scope, bound to
  `PUBLIC_URL/mcp`, valid for 30 days, stored hashed exactly as django-oauth-toolkit stores it
  (`token_checksum`, the plaintext column left blank);
- `sk_writes`: a key of a separate organization, `bench-writes`, which `create_document` writes into
  (so the documents it adds do not change what the read tools read);
- `document`: the public id of the demo document `get_document` reads;
- with `--credentials N`: the demo organization holds N API keys and N OAuth access tokens in all,
  the extra ones bulk-inserted (hashed the way apikeys/keys.py and accounts/oauth/tokens.py hash);
  the two above are then picked from the middle of the bulk set, not the first or last rows;
- with `--capture`: `recipes`, the SQL each benchmarked tool issues (see `capture`), and `auth_sql`,
  what resolving a bearer token issues (documentation only: the bare server does not replay it).

Mirror organizations: the bare server replays the captured SQL against the *same* database, but
against rows of its own: `bench-mirror` (a copy of `demo`: owner, project `handbook`, the welcome
document) and `bench-writes-mirror` (a copy of `bench-writes`). The SQL is captured while calling
Gatehouse's tools as those organizations' principals, so it is Gatehouse's SQL with the mirrors'
ids. That keeps the bare server's audit rows out of the organizations Gatehouse's background sealer
seals (it would otherwise seal the bare server's rows on Gatehouse's CPU), and its documents out of
the organizations Gatehouse reads.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import ipaddress
import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Model  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.audit.journal import Journal  # noqa: E402
from accounts.audit.record import audit_deferred_to  # noqa: E402
from accounts.content.models import Document, Project  # noqa: E402
from accounts.content.services import document_create, project_create  # noqa: E402
from accounts.core.bearer import resolve_bearer  # noqa: E402
from accounts.core.ids import new_public_id  # noqa: E402
from accounts.core.permissions import SCOPE_ORDER, TOKEN_SCOPES, Role  # noqa: E402
from accounts.core.principal import Channel, Principal  # noqa: E402
from accounts.management.commands.seed_demo import DEMO_EMAIL, WELCOME  # noqa: E402
from accounts.oauth.models import OAuthAccessToken, OAuthApplication  # noqa: E402
from accounts.oauth.tokens import access_token_generator, token_checksum  # noqa: E402
from accounts.orgs.models import Membership, Organization  # noqa: E402
from accounts.orgs.services import organization_create  # noqa: E402
from accounts.users.models import User  # noqa: E402
from apikeys import keys  # noqa: E402
from apikeys.models import ApiKey  # noqa: E402
from apikeys.services import apikey_create  # noqa: E402
from mcpserver.registry import REGISTRY, execute  # noqa: E402
from mcpserver.tools import MODULES  # noqa: E402, F401 - registers the tools

USER_AGENT = "gatehouse-bench"
CLIENT_IP = "127.0.0.1"
BULK_BATCH = 5000
ROWS_PER_INSERT = 500  # 16 columns x 500 rows: under SQLite's limit of 32,766 parameters
WRITES_PROJECT = "inbox"
CREATE_ARGUMENTS = {"project": WRITES_PROJECT, "title": "Benchmark note", "body": "Written by bench/run.py."}


def system_principal(user: User, org: Organization) -> Principal:
    role = Membership.objects.for_org(org).get(user=user).role
    return Principal(user=user, organization=org, role=Role(role), channel=Channel.SYSTEM)


def organization(user: User, slug: str) -> Organization:
    org = Organization.objects.filter(slug=slug).first()
    return org or organization_create(user=user, name=slug.replace("-", " ").title(), slug=slug)


def full_key(principal: Principal, name: str) -> str:
    scopes = [scope.value for scope in TOKEN_SCOPES if principal.can(scope)]
    return apikey_create(principal=principal, name=name, scopes=scopes)[1]


def bench_application(user: User) -> OAuthApplication:
    app = OAuthApplication.objects.filter(name="Gatehouse bench").first()
    return app or OAuthApplication.objects.create(
        name="Gatehouse bench",
        user=user,
        client_type=OAuthApplication.CLIENT_PUBLIC,
        authorization_grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://127.0.0.1/callback",
    )


def access_token_row(
    user: User, org: Organization, app: OAuthApplication, plaintext: str
) -> OAuthAccessToken:
    """An unsaved access token as the consent flow would leave it: org-bound, resource-bound, hashed."""
    return OAuthAccessToken(
        user=user,
        application=app,
        organization=org,
        scope=" ".join(SCOPE_ORDER),
        expires=timezone.now() + timedelta(days=30),
        resource=[settings.MCP_RESOURCE_URL],
        token="",  # COMPLIANT_BCP_RFC9700_TOKEN_STORAGE: only the checksum is stored
        token_checksum=token_checksum(plaintext),
    )


def insert_rows(model: type[Model], constant: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """INSERT `rows`, many per statement: each row's own values, `constant` for the other columns.

    Much faster than `bulk_create` for 100,000 rows (no model instances); the values go through
    each field's `get_db_prep_save`, as the ORM would send them. Columns not given get the field's
    default, `auto_now`/`auto_now_add` datetimes the current time.
    """
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    prepared: dict[str, Any] = {}
    for f in fields:
        if f.name in rows[0]:
            continue
        if f.name in constant:
            value = constant[f.name]
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        else:
            value = f.get_default()
        prepared[f.name] = f.get_db_prep_save(value, connection)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column or f.name) for f in fields)
    row_placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # COPY: the fastest way in for psycopg
            names = [f.name for f in fields]
            with cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(
                        [
                            f.get_db_prep_save(row[n], connection) if n in row else prepared[n]
                            for f, n in zip(fields, names, strict=True)
                        ]
                    )
            return
        for start in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[start : start + ROWS_PER_INSERT]
            values = ", ".join([row_placeholders] * len(chunk))
            sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {values}"  # noqa: S608
            params = [
                f.get_db_prep_save(row[f.name], connection) if f.name in row else prepared[f.name]
                for row in chunk
                for f in fields
            ]
            cursor.execute(sql, params)


def bulk_credentials(
    user: User, org: Organization, app: OAuthApplication, *, keys_to_add: int, tokens_to_add: int
) -> tuple[str, str]:
    """Bulk-insert API keys and access tokens into `org`; returns one of each from the middle.

    The rows are what `apikey_create` and the OAuth token endpoint would store: an API key's SHA-256
    `digest` and `hint` (apikeys/keys.py), an access token's `token_checksum` (SHA-256,
    accounts/oauth/tokens.py) with the plaintext column blank, every scope, org-bound,
    resource-bound, valid for 30 days.
    """
    now = timezone.now()
    key_constant = {
        "organization": org.pk,
        "scopes": list(SCOPE_ORDER),
        "created_by": user.pk,
        "created_at": now,
    }
    token_constant = {
        "user": user.pk,
        "application": app.pk,
        "organization": org.pk,
        "scope": " ".join(SCOPE_ORDER),
        "expires": now + timedelta(days=30),
        "resource": [settings.MCP_RESOURCE_URL],
        "token": "",
    }
    chosen_key = chosen_token = ""
    with transaction.atomic():
        for start in range(0, max(keys_to_add, tokens_to_add), BULK_BATCH):
            key_rows, token_rows = [], []
            for i in range(start, start + BULK_BATCH):
                if i < keys_to_add:
                    plaintext = keys.generate()
                    key_rows.append(
                        {
                            "public_id": new_public_id("key"),
                            "name": f"bulk {i}",
                            "digest": keys.digest(plaintext),
                            "hint": keys.hint(plaintext),
                        }
                    )
                    if i == keys_to_add // 2:
                        chosen_key = plaintext
                if i < tokens_to_add:
                    token = access_token_generator(None)
                    token_rows.append({"token_checksum": token_checksum(token)})
                    if i == tokens_to_add // 2:
                        chosen_token = token
            if key_rows:
                insert_rows(ApiKey, key_constant, key_rows)
            if token_rows:
                insert_rows(OAuthAccessToken, token_constant, token_rows)
    return chosen_key, chosen_token


def seed(credentials: int) -> dict[str, Any]:
    user = User.objects.get(email=DEMO_EMAIL)
    demo = Organization.objects.get(slug="demo")
    app = bench_application(user)
    out: dict[str, Any] = {}
    with transaction.atomic():
        out["sk"] = full_key(system_principal(user, demo), "bench")
        for slug in ("bench-mirror", "bench-writes", "bench-writes-mirror"):
            org = organization(user, slug)
            principal = system_principal(user, org)
            if slug == "bench-mirror":
                handbook = project_create(principal=principal, name="Handbook", slug="handbook")
                document_create(principal=principal, project=handbook, title="Welcome", body=WELCOME)
            else:
                project_create(principal=principal, name="Inbox", slug=WRITES_PROJECT)
            out[f"sk_{slug.removeprefix('bench-').replace('-', '_')}"] = full_key(principal, "bench")
    token = access_token_generator(None)
    access_token_row(user, demo, app, token).save()
    out["wat"] = token
    # The credentials made above count towards `credentials` (and seed_demo's key).
    keys_to_add = credentials - ApiKey.all_orgs.filter(organization=demo).count()
    tokens_to_add = credentials - OAuthAccessToken.objects.filter(organization=demo).count()
    if keys_to_add > 0 and tokens_to_add > 0:
        out["sk"], out["wat"] = bulk_credentials(
            user, demo, app, keys_to_add=keys_to_add, tokens_to_add=tokens_to_add
        )
    out["counts"] = {
        "api_keys": ApiKey.all_orgs.filter(organization=demo).count(),
        "oauth_access_tokens": OAuthAccessToken.objects.filter(organization=demo).count(),
    }
    out["document"] = Document.objects.for_org(demo).get(project__slug="handbook").public_id
    # Mirrors have the same shape: the demo document's id is only used for the tool's arguments.
    mirror = Organization.objects.get(slug="bench-mirror")
    out["mirror_document"] = Document.objects.for_org(mirror).get().public_id
    assert Project.objects.for_org(mirror).count() == Project.objects.for_org(demo).count()
    return out


# Capturing the SQL of a tool call -----------------------------------------------------------------

DATETIME_TEXT = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d)?")
PUBLIC_ID = re.compile(r"([a-z]+)_[0-9a-z]{16}")


def encode(value: Any) -> Any:
    """A statement parameter as JSON; the bare server decodes it for its driver (bench/replay.py)."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return {"$ip": str(value)}
    if isinstance(value, list | tuple):
        return {"$list": [encode(v) for v in value]}
    obj = getattr(value, "obj", None)  # psycopg's Jsonb / Json wrappers
    if type(value).__name__ in ("Jsonb", "Json"):
        return {"$jsonb" if type(value).__name__ == "Jsonb" else "$json": obj}
    raise TypeError(f"cannot record a parameter of type {type(value).__name__}: {value!r}")


def fresh_kind(value: Any) -> dict[str, Any]:
    """How the bare server makes a new value for a parameter that changes from call to call.

    `was` is the captured value: positions that held the same value get the same new value.
    """
    was = json.dumps(value, sort_keys=True)
    if isinstance(value, dict) and "$dt" in value:
        return {"$fresh": "now", "was": was}
    if isinstance(value, str) and DATETIME_TEXT.fullmatch(value):
        return {"$fresh": "now_text", "was": was}
    if isinstance(value, str) and (match := PUBLIC_ID.fullmatch(value)):
        return {"$fresh": "public_id", "prefix": match.group(1), "was": was}
    if isinstance(value, dict) and "$uuid" in value:
        return {"$fresh": "uuid", "was": was}
    raise ValueError(f"a parameter changes from call to call and the bare server cannot renew it: {value!r}")


class Recorder:
    """Statements (and transaction boundaries) of the calling thread's default connection."""

    def __init__(self) -> None:
        self.ops: list[dict[str, Any]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if many:
            raise ValueError("executemany is not replayed")
        self.ops.append({"sql": sql, "params": None if params is None else [encode(p) for p in params]})
        return execute(sql, params, many, context)

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Also note BEGIN (autocommit off), COMMIT and ROLLBACK, which do not go through execute()."""
        wrapper: Any = connection  # private hooks of Django's DatabaseWrapper
        originals = (wrapper._set_autocommit, wrapper._commit, wrapper._rollback)

        def set_autocommit(autocommit: bool) -> None:
            self.ops.append({"autocommit": autocommit})
            originals[0](autocommit)

        def commit() -> None:
            self.ops.append({"commit": True})
            originals[1]()

        def rollback() -> None:
            self.ops.append({"rollback": True})
            originals[2]()

        wrapper._set_autocommit, wrapper._commit, wrapper._rollback = set_autocommit, commit, rollback
        try:
            with connection.execute_wrapper(self):
                yield
        finally:
            wrapper._set_autocommit, wrapper._commit, wrapper._rollback = originals


def call_tool(principal: Principal, name: str, arguments: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    """One tools/call as the MCP endpoint runs it (its audit event left to the background journal)."""
    recorder = Recorder()
    with recorder.recording(), audit_deferred_to(Journal()):
        result, _unsaved = execute(tool=REGISTRY[name], principal=principal, arguments=arguments)
    return recorder.ops, result.model_dump(mode="json")


def principal_of(token: str) -> Principal:
    """The principal the MCP endpoint resolves for this bearer token."""
    return resolve_bearer(token=token, channel=Channel.MCP, ip=CLIENT_IP, user_agent=USER_AGENT)


def capture(sk_mirror: str, sk_writes_mirror: str, mirror_document: str) -> dict[str, Any]:
    """Each benchmarked tool's SQL, called twice as a mirror organization's principal.

    What differs between the two calls (timestamps, new public ids) is marked `$fresh`; the bare
    server renews it on every call, one new value per distinct old value, so a document's new public
    id is the same in its INSERT and in its audit event's `target_id`.
    """
    reader = principal_of(sk_mirror)  # first use also records last_used_at
    writer = principal_of(sk_writes_mirror)
    calls = {
        "list_projects": (reader, {}),
        "get_document": (reader, {"document": mirror_document}),
        "search_documents": (reader, {"query": "welcome"}),
        "create_document": (writer, CREATE_ARGUMENTS),
    }
    recipes: dict[str, Any] = {}
    for name, (principal, arguments) in calls.items():
        first, _ = call_tool(principal, name, arguments)
        second, result = call_tool(principal, name, arguments)
        if [op.get("sql") for op in first] != [op.get("sql") for op in second]:
            raise RuntimeError(f"{name}: two calls issued different statements")
        for a, b in zip(first, second, strict=True):
            if b.get("params"):
                b["params"] = [
                    fresh_kind(pb) if pa != pb else pb
                    for pa, pb in zip(a["params"], b["params"], strict=True)
                ]
        recipes[name] = {"arguments": arguments, "ops": second, "result": result}
    recorder = Recorder()
    with recorder.recording():
        principal_of(sk_mirror)
    return {"recipes": recipes, "auth_sql": [op["sql"] for op in recorder.ops if "sql" in op]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, help="where to write the JSON")
    parser.add_argument("--credentials", type=int, default=0, help="API keys and OAuth tokens to hold in all")
    parser.add_argument("--capture", action="store_true", help="also capture the tools' SQL")
    args = parser.parse_args()
    out = seed(args.credentials)
    out["vendor"] = connection.vendor
    if args.capture:
        out.update(capture(out["sk_mirror"], out["sk_writes_mirror"], out["mirror_document"]))
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()

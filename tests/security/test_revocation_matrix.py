"""Every change of what a credential may do takes effect on the very next request, on every worker.

Two uvicorn workers share one database (this suite's: an SQLite file, or a PostgreSQL database of
the test's own) and one Redis of the test's own. Each case makes a fresh credential, calls `whoami`
through both workers until both have it cached (accounts/core/credential_cache.py), changes
something in a third process the way production code or an operator would (a service, django-oauth-
toolkit's endpoint, a `QuerySet.update()`, `Model.save()` and `Model.delete()` as the admin and
data migrations call them, a raw DELETE, or just the clock), and then
expects the very next request on each worker to be refused, or to act with less (a lesser role, a
narrower tool policy), with no pause in
between. What makes it pass is the database triggers of accounts/orgs/credential_triggers.py.

Not here: deleting an organization. Once it has served one request it has audit events, which
PROTECT it (and the audit triggers refuse their deletion); that its generation row goes with it, so
that no cache answers for it again, is tests/accounts/orgs/test_credential_triggers.py's.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.support.django_shell import DjangoShell, django_shell
from tests.support.mcp import post, tool_call
from tests.support.redis import redis_available, redis_server
from tests.support.servers import free_port, gatehouse_env, uvicorn_process

PRELUDE = """
from django.test.utils import setup_test_environment
setup_test_environment()  # the test client records rendered contexts (tests/support/oauth.py reads them)

from datetime import timedelta
from django.test import Client
from django.utils import timezone
from accounts.core.permissions import Role
from accounts.models import Membership, OAuthAccessToken, OAuthApplication, Organization, Project, User
from accounts.oauth.services import connection_revoke, connection_set_tool_policy
from accounts.core.toolpolicy import READ_ONLY
from accounts.orgs.services import member_remove, member_role_change
from accounts.users.services import password_changed
from apikeys import keys
from apikeys.models import ApiKey
from apikeys.services import apikey_revoke, apikey_roll, apikey_set_tool_policy
from tests.factories import MembershipFactory, ProjectFactory, principal_for
from tests.support.apikeys import ALL_SCOPES, make_key
from tests.support.oauth import obtain_tokens, refresh, register

def new_member():
    membership = MembershipFactory(role=Role.ADMIN)
    owner = MembershipFactory(organization=membership.organization, role=Role.OWNER)
    return membership, membership.organization, membership.user, owner

def plain_key(membership, project=None):
    # A key with no audit event: no history PROTECTs its organization, person or project from deletion.
    plaintext = keys.generate()
    ApiKey.objects.create(
        organization=membership.organization, name="plain", digest=keys.digest(plaintext),
        hint=keys.hint(plaintext), project=project, scopes=ALL_SCOPES, created_by=membership.user,
    )
    return plaintext

def new_app():
    response = register(Client())
    assert response.status_code == 201, response.content
    return OAuthApplication.objects.get(client_id=response.json()["client_id"])
"""

API_KEY = """
membership, org, user, owner = new_member()
key, plaintext = make_key(membership{options})
result = plaintext
"""

NO_HISTORY = """
membership = MembershipFactory(role=Role.ADMIN)
org, user = membership.organization, membership.user
"""

OAUTH = """
membership, org, user, owner = new_member()
app = new_app()
tokens = obtain_tokens(user, app, org)
result = tokens["access_token"]
"""


@dataclass(frozen=True)
class Case:
    id: str
    change: str  # run in the shell after both workers have cached the credential
    credential: str = "sk"  # or "wat"
    setup_options: str = ""  # keyword arguments of make_key()
    setup: str = ""  # instead of the credential's usual set-up
    wait: float = 0  # seconds after the change: an expiry that needs no write
    expect_role: str | None = None  # None: refused; else the (lesser) role the next request acts as
    expect_tools: str | None = None  # the tool policy preset the next request acts with (not refused)
    http: str = ""  # an HTTP call to worker A instead of (or after) the shell snippet: "revoke"


CASES = [
    Case("apikey revoked by its service", "apikey_revoke(principal=principal_for(membership), key=key)"),
    Case(
        "apikey revoked by QuerySet.update",
        "ApiKey.objects.for_org(org).filter(pk=key.pk).update(revoked_at=timezone.now())",
    ),
    Case(
        "apikey expiry passes (no write)",
        "",
        setup_options=", expires_at=timezone.now() + timedelta(seconds=4)",
        wait=4.5,
    ),
    Case(
        "apikey expiry moved into the past by QuerySet.update",
        "ApiKey.objects.for_org(org).filter(pk=key.pk).update(expires_at=timezone.now())",
    ),
    Case(
        "rolled without overlap",
        "apikey_roll(principal=principal_for(membership), key=key, overlap=timedelta(0))",
    ),
    Case(
        "a roll's overlap ends (no write after the roll)",
        "apikey_roll(principal=principal_for(membership), key=key, overlap=timedelta(seconds=4))",
        wait=4.5,
    ),
    Case("membership deleted by Model.delete() (an admin inline's way)", "membership.delete()"),
    Case(
        "member removed by the service",
        "member_remove(principal=principal_for(owner), membership=membership)",
    ),
    Case(
        "membership deleted by a raw DELETE",
        "RAW('DELETE FROM accounts_membership WHERE id = %s', membership.pk)",
    ),
    Case(
        "role lowered by the service",
        "member_role_change(principal=principal_for(owner), membership=membership, role=Role.VIEWER)",
        expect_role="viewer",
    ),
    Case(
        "role lowered by QuerySet.update",
        "Membership.objects.for_org(org).filter(pk=membership.pk).update(role=Role.VIEWER)",
        expect_role="viewer",
    ),
    Case("user deactivated by QuerySet.update", "User.objects.filter(pk=user.pk).update(is_active=False)"),
    Case(
        "user deactivated by Model.save() (the admin's change form's way)",
        "user.is_active = False\nuser.save()",
    ),
    Case(
        "the key's project deleted by Model.delete()",
        "project.delete()",
        setup=NO_HISTORY
        + "project = ProjectFactory(organization=org)\nresult = plain_key(membership, project)",
    ),
    Case(
        "Connected app revoked",
        "connection_revoke(principal=principal_for(membership), application=app, user=user)",
        credential="wat",
    ),
    Case("RFC 7009 revocation at /oauth/revoke/", "", credential="wat", http="revoke"),
    Case(
        "access token expired by QuerySet.update",
        "OAuthAccessToken.objects.filter(user=user).update(expires=timezone.now())",
        credential="wat",
    ),
    Case(
        "password changed",
        "password_changed(user=user, revoke_api_keys=False, ip=None, user_agent='', reset=False)",
        credential="wat",
    ),
    Case(
        "refresh token reused after rotation",
        "new = refresh(Client(), app.client_id, tokens['refresh_token']).json()\n"
        "assert 'access_token' in new, new\n"
        "replayed = refresh(Client(), app.client_id, tokens['refresh_token'])\n"
        "assert replayed.status_code == 400, replayed.content",
        credential="wat",
    ),
    Case("OAuth app deleted", "OAuthApplication.objects.filter(pk=app.pk).delete()", credential="wat"),
    Case(
        "member removed (OAuth)",
        "member_remove(principal=principal_for(owner), membership=membership)",
        credential="wat",
    ),
    Case(
        "role lowered (OAuth)",
        "member_role_change(principal=principal_for(owner), membership=membership, role=Role.VIEWER)",
        credential="wat",
        expect_role="viewer",
    ),
    Case(
        "apikey tool policy changed by its service",
        "apikey_set_tool_policy(principal=principal_for(membership), key=key, tool_policy=READ_ONLY)",
        expect_tools="read_only",
    ),
    Case(
        "apikey tool policy changed by QuerySet.update",
        "ApiKey.objects.for_org(org).filter(pk=key.pk).update(tool_policy={'preset': 'read_only'})",
        expect_tools="read_only",
    ),
    Case(
        "Connected app's tool policy changed by its service",
        "connection_set_tool_policy(principal=principal_for(membership), application=app, user=user, "
        "tool_policy=READ_ONLY)",
        credential="wat",
        expect_tools="read_only",
    ),
    Case(
        "OAuth token's tool policy changed by QuerySet.update",
        "OAuthAccessToken.objects.filter(user=user).update(tool_policy={'preset': 'read_only'})",
        credential="wat",
        expect_tools="read_only",
    ),
    Case(
        "user deactivated (OAuth)",
        "User.objects.filter(pk=user.pk).update(is_active=False)",
        credential="wat",
    ),
]

# SQL as a console would send it.
HELPERS = """
from django.db import connection

def RAW(sql, *params):
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
"""


@dataclass(frozen=True)
class Cluster:
    workers: tuple[str, str]  # MCP URLs
    public_url: str
    shell: DjangoShell


@contextmanager
def _database(tmp: Path) -> Iterator[str]:
    """This run's database kind: a PostgreSQL database of our own when the suite runs on one."""
    suite = os.environ.get("DATABASE_URL", "")
    if not suite.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp / 'matrix.sqlite3'}"
        return
    server = suite.rsplit("/", 1)[0]
    name = f"gatehouse_matrix_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("matrix")
    ports = free_port(), free_port()
    public_url = f"http://127.0.0.1:{ports[0]}"  # one name for both, as behind a load balancer
    with (
        _database(tmp) as database_url,
        redis_server() if redis_available() else nullcontext("") as redis_url,
    ):
        env = gatehouse_env(database=tmp / "unused", port=ports[0], DEBUG="1")
        env |= {"DATABASE_URL": database_url, "PUBLIC_URL": public_url, "OAUTH_REFRESH_RETRY_SECONDS": "0"}
        env |= {"ALLOWED_HOSTS": "127.0.0.1,localhost,testserver"}
        if redis_url:
            env["REDIS_URL"] = redis_url
        with django_shell(env) as shell:
            shell.run("from django.core.management import call_command\ncall_command('migrate', verbosity=0)")
            shell.run(PRELUDE + HELPERS)
            with (
                uvicorn_process("config.asgi:application", port=ports[0], env=env) as a,
                uvicorn_process("config.asgi:application", port=ports[1], env=env) as b,
            ):
                yield Cluster(workers=(f"{a}/mcp", f"{b}/mcp"), public_url=public_url, shell=shell)


def whoami(url: str, token: str) -> httpx.Response:
    return post(url, tool_call("whoami"), token)


def acts_as(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert not result.get("isError"), result
    structured: dict[str, Any] = result["structuredContent"]
    return structured


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_very_next_request_on_every_worker_sees_the_change(cluster: Cluster, case: Case) -> None:
    setup = case.setup or (OAUTH if case.credential == "wat" else API_KEY.format(options=case.setup_options))
    token = cluster.shell.run(setup)
    # Both workers resolve it, then answer it from their caches.
    for url in cluster.workers:
        for _ in range(2):
            assert acts_as(whoami(url, token))["role"] == "admin"
            assert acts_as(whoami(url, token))["tool_policy"]["preset"] == "all"

    if case.change:
        cluster.shell.run(case.change)
    if case.http == "revoke":
        client_id = cluster.shell.run("result = app.client_id")
        revoked = httpx.post(
            f"{cluster.public_url}/oauth/revoke/", data={"token": token, "client_id": client_id}, timeout=30
        )
        assert revoked.status_code == 200, revoked.text
    if case.wait:
        time.sleep(case.wait)

    for url in cluster.workers:
        response = whoami(url, token)
        if case.expect_tools is not None:
            assert acts_as(response)["tool_policy"]["preset"] == case.expect_tools, url
        elif case.expect_role is None:
            assert response.status_code == 401, (url, response.status_code, response.text[:500])
        else:
            assert acts_as(response)["role"] == case.expect_role, url

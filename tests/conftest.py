from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.audit import checkpoints
from accounts.core import outage
from accounts.core.credential_cache import CACHE as CREDENTIALS
from accounts.core.permissions import Role
from accounts.core.principal import Principal
from accounts.models import Membership, OAuthApplication, Organization, User
from mcpserver.limits import reset_rate_limits
from tests.factories import MembershipFactory, OrganizationFactory, principal_for
from tests.support.apikeys import Clock
from tests.support.live import live_mailbox, live_server_url  # noqa: F401 - the shared live server
from tests.support.oauth import register

# The MCP servers and tenants (mcp_url, acme, globex...), for tests of any folder.
pytest_plugins = ["tests.support.mcp_fixtures", "tests.support.secret_detector"]


# On PostgreSQL every tenant scope (a request, an MCP call, the audit writer) runs as this role, which
# row-level security binds (accounts/core/rls.py): a query the policies would hide fails its test.
APP_ROLE = "gatehouse_test_app"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    from django.conf import settings
    from django.db import connection

    from accounts.core.rls_policies import grant_sql

    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS")
            for statement in grant_sql(APP_ROLE):
                cursor.execute(statement)
    settings.DATABASE_APP_ROLE = APP_ROLE


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate-limit counters, cached credentials and the outage log's throttle outlive a test's database:
    each test starts afresh."""
    cache.clear()
    reset_rate_limits()
    CREDENTIALS.clear()
    outage.reset_traceback_throttle()
    yield
    cache.clear()
    reset_rate_limits()
    CREDENTIALS.clear()


@pytest.fixture(scope="session")
def _checkpoints_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audit-checkpoints")


@pytest.fixture(autouse=True)
def _own_audit_checkpoints(settings: Any, _checkpoints_root: Path) -> None:
    """Each test's organizations are checkpointed in a directory of its own (made when first written)."""
    settings.AUDIT_CHECKPOINT_DIR = _checkpoints_root / uuid.uuid4().hex
    checkpoints.forget_written()


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_org(db: None) -> Organization:
    return OrganizationFactory(name="Globex", slug="globex")


@pytest.fixture
def owner_membership(org: Organization) -> Membership:
    return MembershipFactory(organization=org, role=Role.OWNER, user__email="owner@acme.test")


@pytest.fixture
def owner(owner_membership: Membership) -> User:
    return owner_membership.user


@pytest.fixture
def admin_membership(org: Organization) -> Membership:
    return MembershipFactory(organization=org, role=Role.ADMIN, user__email="admin@acme.test")


@pytest.fixture
def member_membership(org: Organization) -> Membership:
    return MembershipFactory(organization=org, role=Role.MEMBER, user__email="member@acme.test")


@pytest.fixture
def viewer_membership(org: Organization) -> Membership:
    return MembershipFactory(organization=org, role=Role.VIEWER, user__email="viewer@acme.test")


@pytest.fixture
def owner_principal(owner_membership: Membership) -> Principal:
    return principal_for(owner_membership)


@pytest.fixture
def member_principal(member_membership: Membership) -> Principal:
    return principal_for(member_membership)


@pytest.fixture
def other_owner_principal(other_org: Organization) -> Principal:
    return principal_for(MembershipFactory(organization=other_org, role=Role.OWNER))


@pytest.fixture
def owner_client(client: Client, owner: User) -> Client:
    client.force_login(owner)
    return client


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Time, frozen and moved by hand: `clock.advance(timedelta(...))`."""
    return Clock(monkeypatch)


@pytest.fixture
def app(db: None) -> OAuthApplication:
    """An OAuth client registered the way MCP clients register: anonymously, public, loopback redirect."""
    response = register(Client())
    assert response.status_code == 201, response.content
    return OAuthApplication.objects.get(client_id=response.json()["client_id"])

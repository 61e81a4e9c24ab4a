"""`manage.py apikey …` and the demo key of `seed_demo`."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.audit.models import AuditAction
from accounts.core.bearer import InvalidToken
from accounts.core.principal import Channel
from accounts.models import AuditEvent, Membership, Organization
from apikeys import keys
from apikeys.models import ApiKey, ApiKeyStatus
from apikeys.resolver import resolve_api_key
from tests.factories import ProjectFactory
from tests.support.apikeys import make_key, reload

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("apikey", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_the_key_once_on_stdout_and_audits_as_system(
    org: Organization, owner_membership: Membership
) -> None:
    ProjectFactory(organization=org, slug="handbook")
    out, err = run(
        "create",
        "--org=acme",
        "--name=CI deploy",
        "--scopes=documents:write,projects:read",
        "--project=handbook",
        "--expires-days=30",
    )
    plaintext = out.strip()
    assert keys.has_valid_checksum(plaintext)
    assert plaintext not in err
    assert "acting as owner@acme.test" in err
    key = ApiKey.objects.for_org(org).get()
    assert (key.name, key.project.slug, key.created_by) == ("CI deploy", "handbook", owner_membership.user)  # type: ignore[union-attr]
    assert key.scopes == ["projects:read", "documents:read", "documents:write"]
    assert timedelta(days=29) < key.expires_at - timezone.now() <= timedelta(days=30)  # type: ignore[operator]
    event = AuditEvent.objects.for_org(org).get(action=AuditAction.APIKEY_CREATED)
    assert event.channel == Channel.SYSTEM
    assert (
        resolve_api_key(token=plaintext, channel=Channel.API, ip=None, user_agent="").principal.user
        == key.created_by
    )


def test_create_as_a_chosen_member_is_capped_by_their_role(
    org: Organization, owner_membership: Membership, member_membership: Membership
) -> None:
    with pytest.raises(CommandError, match=r"cannot grant: audit:read"):
        run("create", "--org=acme", "--name=x", "--scopes=audit:read", "--user=member@acme.test")
    _out, _ = run("create", "--org=acme", "--name=x", "--scopes=members:read", "--user=MEMBER@acme.test")
    assert ApiKey.objects.for_org(org).get().created_by == member_membership.user


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org=nope"], "No organization"),
        (["--org=acme", "--user=ghost@acme.test"], "No user"),
        (["--org=acme", "--project=nope"], "No project"),
        (["--org=acme", "--expires-days=0"], "--expires-days"),
        (["--org=acme", "--scopes=repo:admin"], "Unknown scope"),
    ],
)
def test_create_errors_are_command_errors(
    org: Organization, owner_membership: Membership, args: list[str], message: str
) -> None:
    base = {"--name": "--name=x", "--scopes": "--scopes=projects:read"}
    for arg in args:
        base[arg.split("=")[0]] = arg
    with pytest.raises(CommandError, match=message):
        run("create", *base.values())
    assert not ApiKey.objects.for_org(org).exists()


def test_create_for_a_non_member_is_refused(
    org: Organization, other_owner_principal: object, owner_membership: Membership
) -> None:
    email = other_owner_principal.user.email  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="not a member"):
        run("create", "--org=acme", "--name=x", "--scopes=projects:read", f"--user={email}")


def test_list_shows_hints_never_plaintexts_and_records_expiries(
    org: Organization, owner_membership: Membership
) -> None:
    live, live_plaintext = make_key(owner_membership, name="Live")
    gone, _ = make_key(owner_membership, name="Gone", expires_at=timezone.now() + timedelta(seconds=1))
    ApiKey.objects.for_org(org).filter(pk=gone.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    out, _ = run("list", "--org=acme")
    assert live.public_id in out
    assert live.hint in out
    assert live_plaintext not in out
    assert gone.public_id not in out
    assert AuditEvent.objects.for_org(org).filter(action=AuditAction.APIKEY_EXPIRED).count() == 1
    out, _ = run("list", "--org=acme", "--all")
    assert re.search(rf"{gone.public_id} .* expired", out)


def test_revoke_by_id_stops_the_key(org: Organization, owner_membership: Membership) -> None:
    key, plaintext = make_key(owner_membership)
    out, _ = run("revoke", "--org=acme", key.public_id)
    assert key.hint in out
    assert reload(key).status == ApiKeyStatus.REVOKED
    event = AuditEvent.objects.for_org(org).get(action=AuditAction.APIKEY_REVOKED)
    assert (event.channel, event.actor) == (Channel.SYSTEM, None)
    with pytest.raises(InvalidToken):
        resolve_api_key(token=plaintext, channel=Channel.API, ip=None, user_agent="")


def test_revoke_of_another_orgs_key_is_not_found(
    org: Organization, other_org: Organization, owner_membership: Membership, other_owner_principal: object
) -> None:
    foreign, _ = make_key(Membership.objects.for_org(other_org).get())
    with pytest.raises(CommandError, match="No key"):
        run("revoke", "--org=acme", foreign.public_id)
    assert reload(foreign).revoked_at is None


def test_expire_records_each_expiry_once_across_organizations(
    org: Organization, owner_membership: Membership, other_org: Organization, other_owner_principal: object
) -> None:
    past = timezone.now() - timedelta(seconds=1)
    for membership in (owner_membership, Membership.objects.for_org(other_org).get()):
        key, _ = make_key(membership, expires_at=timezone.now() + timedelta(seconds=1))
        ApiKey.objects.for_org(membership.organization).filter(pk=key.pk).update(expires_at=past)
    out, _ = run("expire")
    assert "Recorded 2 expired key(s)." in out
    out, _ = run("expire")
    assert "Recorded 0 expired key(s)." in out


def test_seed_demo_prints_a_fresh_full_key_and_revokes_the_previous_one() -> None:
    first, second = io.StringIO(), io.StringIO()
    call_command("seed_demo", stdout=first)
    call_command("seed_demo", stdout=second)
    [old_plaintext] = re.findall(r"API key:\s+(sk-\S+)", first.getvalue())
    [new_plaintext] = re.findall(r"API key:\s+(sk-\S+)", second.getvalue())
    assert old_plaintext != new_plaintext
    with pytest.raises(InvalidToken):
        resolve_api_key(token=old_plaintext, channel=Channel.API, ip=None, user_agent="")
    principal = resolve_api_key(token=new_plaintext, channel=Channel.API, ip=None, user_agent="").principal
    assert principal.organization.slug == "demo"
    assert len(principal.scopes or ()) == 6
    demo = Organization.objects.get(slug="demo")
    assert ApiKey.objects.for_org(demo).filter(revoked_at__isnull=True).count() == 1

"""The API keys pages, per role: list, create (shown once), roll, revoke."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.audit.models import AuditAction
from accounts.core.permissions import Role
from accounts.models import AuditEvent, Membership, Organization
from apikeys import keys
from apikeys.models import ApiKey, ApiKeyStatus
from apikeys.services import apikey_revoke
from tests.factories import MembershipFactory, ProjectFactory, principal_for
from tests.support.apikeys import make_key, reload
from tests.support.queries import NARROW, REQUEST, with_rls

pytestmark = pytest.mark.django_db


def login(client: Client, membership: Membership) -> Client:
    client.force_login(membership.user)
    return client


def url(name: str, org: Organization, key: ApiKey | None = None) -> str:
    args = [org.slug] + ([key.public_id] if key else [])
    return reverse(f"apikeys:{name}", args=args)


def plaintexts_in(html: str) -> set[str]:
    return {m for m in re.findall(r"sk-[0-9A-Za-z]{49}", html) if keys.has_valid_checksum(m)}


CREATE = {"name": "GitHub Actions", "project": "", "access": "read", "expiry": "90"}


def submit(client: Client, page: str, data: dict[str, object]):
    """Open the form (which issues its one-time nonce), then post it, as a browser does."""
    nonce = client.get(page).context["form"]["nonce"].value()
    assert nonce
    return client.post(page, {**data, "nonce": nonce})


# List


def test_member_sees_only_their_own_keys(
    client: Client, org: Organization, member_membership: Membership
) -> None:
    mine, _ = make_key(member_membership, name="Mine")
    make_key(MembershipFactory(organization=org, role=Role.ADMIN), name="Someone else's")
    response = login(client, member_membership).get(url("list", org))
    assert response.status_code == 200
    assert list(response.context["keys"]) == [mine]
    html = response.content.decode()
    assert "Mine" in html
    assert mine.hint in html
    assert "Someone else" not in html
    assert "Never used" in html
    assert 'aria-current="page">API keys</a>' in html


def test_admin_sees_every_key_with_its_creator(
    client: Client, org: Organization, admin_membership: Membership, member_membership: Membership
) -> None:
    make_key(member_membership, name="Member key")
    make_key(admin_membership, name="Admin key")
    html = login(client, admin_membership).get(url("list", org)).content.decode()
    assert "Member key" in html
    assert "Admin key" in html
    assert "by member@acme.test" in html
    assert "by you" in html


def test_list_flags_idle_and_expiring_keys_and_last_use(
    client: Client, org: Organization, owner_membership: Membership
) -> None:
    idle, _ = make_key(owner_membership, name="Idle")
    ApiKey.objects.for_org(org).filter(pk=idle.pk).update(
        last_used_at=timezone.now() - timedelta(days=91), last_used_ip="192.0.2.9"
    )
    make_key(owner_membership, name="Expiring", expires_at=timezone.now() + timedelta(days=3))
    html = login(client, owner_membership).get(url("list", org)).content.decode()
    assert "Idle over 90 days" in html
    assert "from 192.0.2.9" in html
    assert re.search(r'badge-warn">in [23]\xa0days', html)


def test_list_tabs_split_active_from_revoked_and_expired(
    client: Client, org: Organization, owner_membership: Membership
) -> None:
    live, _ = make_key(owner_membership, name="Live")
    dead, _ = make_key(owner_membership, name="Dead")
    apikey_revoke(principal=principal_for(owner_membership), key=dead)
    login(client, owner_membership)
    active = client.get(url("list", org))
    assert list(active.context["keys"]) == [live]
    assert "Revoked and expired (1)" in active.content.decode()
    inactive = client.get(url("list", org) + "?show=inactive")
    assert list(inactive.context["keys"]) == [dead]
    assert "badge-danger" in inactive.content.decode()


def test_empty_list_says_what_to_do(client: Client, org: Organization, member_membership: Membership) -> None:
    html = login(client, member_membership).get(url("list", org)).content.decode()
    assert "No active API keys" in html
    assert url("create", org) in html


def test_list_query_count_does_not_grow_with_keys(
    client: Client, org: Organization, owner_membership: Membership, django_assert_num_queries: object
) -> None:
    project = ProjectFactory(organization=org)
    login(client, owner_membership)
    make_key(owner_membership, project=project)
    client.get(url("list", org))  # warm up the session
    for _ in range(5):
        make_key(MembershipFactory(organization=org, role=Role.MEMBER), project=project)
    # session, user, membership, keys (joined), invalid count, organization switcher
    with django_assert_num_queries(with_rls(6, statements=REQUEST + NARROW)):  # type: ignore[operator]
        response = client.get(url("list", org))
    assert len(response.context["keys"]) == 6


def test_viewer_sees_the_list_but_cannot_create(
    client: Client, org: Organization, viewer_membership: Membership
) -> None:
    login(client, viewer_membership)
    html = client.get(url("list", org)).content.decode()
    assert "Your role (viewer) cannot create API keys." in html
    assert url("create", org) not in html
    assert client.get(url("create", org)).status_code == 403
    assert client.post(url("create", org), CREATE).status_code == 403
    assert url("list", org) in client.get(reverse("accounts:members", args=[org.slug])).content.decode()


def test_non_members_get_404_and_anonymous_users_the_login_page(
    client: Client, org: Organization, other_owner_principal: object
) -> None:
    assert client.get(url("list", org)).status_code == 302
    client.force_login(other_owner_principal.user)  # type: ignore[attr-defined]
    assert client.get(url("list", org)).status_code == 404
    assert client.get(url("create", org)).status_code == 404


# Create


def test_create_form_offers_presets_and_only_the_scopes_of_the_role(
    client: Client, org: Organization, member_membership: Membership
) -> None:
    html = login(client, member_membership).get(url("create", org)).content.decode()
    assert "Read-only" in html
    assert "Full access" in html
    assert "Choose scopes" in html
    assert 'value="documents:write"' in html
    assert 'value="audit:read"' not in html
    assert "Not available to your role:" in html
    for choice in ("30 days", "90 days", "1 year", "Never", "On a date"):
        assert choice in html


def test_create_shows_the_key_once_in_the_post_response(
    client: Client, org: Organization, member_membership: Membership
) -> None:
    login(client, member_membership)
    response = submit(client, url("create", org), CREATE)
    assert response.status_code == 200  # rendered, not redirected
    assert "no-store" in response["Cache-Control"]
    [plaintext] = plaintexts_in(response.content.decode())
    key = ApiKey.objects.for_org(org).get()
    assert key.digest == keys.digest(plaintext)
    assert key.scopes == ["projects:read", "documents:read", "members:read"]
    assert key.expires_at is not None
    assert timedelta(days=89) < key.expires_at - timezone.now() <= timedelta(days=90)
    html = response.content.decode()
    assert f"Authorization: Bearer {plaintext}" in html
    assert f'curl -H "Authorization: Bearer {plaintext}" http://127.0.0.1:8000/api/v1/projects/' in html
    assert 'data-copy="new-key"' in html
    # Nowhere to find it again: not in the session, the messages, a cookie, or the next page.
    assert plaintext not in str(dict(client.session))
    assert all(plaintext not in morsel.value for morsel in response.cookies.values())
    assert not plaintexts_in(client.get(url("list", org)).content.decode())
    assert AuditEvent.objects.for_org(org).filter(action=AuditAction.APIKEY_CREATED).count() == 1


def test_create_for_one_project_with_chosen_scopes_and_a_date(
    client: Client, org: Organization, member_membership: Membership
) -> None:
    project = ProjectFactory(organization=org, slug="handbook")
    day = timezone.localdate() + timedelta(days=10)
    data = {
        **CREATE,
        "project": "handbook",
        "access": "custom",
        "scopes": ["documents:write"],
        "expiry": "custom",
        "expires_on": day.isoformat(),
    }
    response = submit(login(client, member_membership), url("create", org), data)
    assert response.status_code == 200
    key = ApiKey.objects.for_org(org).get()
    assert (key.project, key.scopes) == (project, ["documents:read", "documents:write"])
    assert timezone.localtime(key.expires_at).date() == day  # valid through that day
    assert (timezone.localtime(key.expires_at) + timedelta(microseconds=1)).date() == day + timedelta(days=1)
    # No projects:read: the curl example checks the key instead.
    assert "/api/v1/whoami/" in response.content.decode()


def test_full_access_preset_is_everything_the_role_allows(
    client: Client, org: Organization, owner_membership: Membership
) -> None:
    submit(
        login(client, owner_membership), url("create", org), {**CREATE, "access": "full", "expiry": "never"}
    )
    key = ApiKey.objects.for_org(org).get()
    assert len(key.scopes) == 6
    assert key.expires_at is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"access": "custom"}, "scopes", "Tick at least one scope"),
        ({"access": "custom", "scopes": ["audit:read"]}, "scopes", "Select a valid choice"),
        ({"expiry": "custom"}, "expires_on", "Pick the day"),
        ({"expiry": "custom", "expires_on": "2001-01-01"}, "expires_on", "Pick a day after today"),
        ({"project": "not-ours"}, "project", "Select a valid choice"),
    ],
)
def test_create_with_bad_input_rerenders_with_field_errors(
    client: Client,
    org: Organization,
    other_org: Organization,
    member_membership: Membership,
    data: dict[str, object],
    field: str,
    message: str,
) -> None:
    ProjectFactory(organization=other_org, slug="not-ours")
    response = submit(login(client, member_membership), url("create", org), {**CREATE, **data})
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert not plaintexts_in(response.content.decode())
    assert not ApiKey.objects.for_org(org).exists()


# Roll


def test_roll_shows_the_new_key_once_and_keeps_the_old_one_for_the_overlap(
    client: Client, org: Organization, member_membership: Membership
) -> None:
    old, old_plaintext = make_key(member_membership)
    login(client, member_membership)
    page = client.get(url("roll", org, old))
    assert page.status_code == 200
    assert "24 hours" in page.content.decode()
    response = submit(client, url("roll", org, old), {"overlap": "3600"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [plaintext] = plaintexts_in(response.content.decode())
    assert plaintext != old_plaintext
    old = reload(old)
    assert old.status == ApiKeyStatus.ROLLED
    assert old.replaced_by.digest == keys.digest(plaintext)  # type: ignore[union-attr]
    assert f"The old key {old.hint} keeps working until" in response.content.decode()


def test_only_the_creator_may_roll(
    client: Client, org: Organization, member_membership: Membership, admin_membership: Membership
) -> None:
    key, _ = make_key(member_membership)
    login(client, admin_membership)
    assert client.get(url("roll", org, key)).status_code == 403
    assert client.post(url("roll", org, key), {"overlap": "0"}).status_code == 403
    assert reload(key).replaced_by is None


def test_roll_of_a_rolled_key_is_a_form_error(
    client: Client, org: Organization, owner_membership: Membership
) -> None:
    key, _ = make_key(owner_membership)
    login(client, owner_membership)
    page = client.get(url("roll", org, key))  # two tabs open on the roll page; the first one rolls
    submit(client, url("roll", org, key), {"overlap": "0"})
    response = client.post(
        url("roll", org, key), {"overlap": "0", "nonce": page.context["form"]["nonce"].value()}
    )
    assert response.status_code == 200
    assert "Only an active key can be rolled" in response.content.decode()
    assert ApiKey.objects.for_org(org).count() == 2


# Revoke


def test_revoke_asks_then_revokes_and_says_so(
    client: Client, org: Organization, member_membership: Membership
) -> None:
    key, _ = make_key(member_membership, name="Laptop")
    login(client, member_membership)
    confirm = client.get(url("revoke", org, key))
    assert confirm.status_code == 200
    assert "Revoke key" in confirm.content.decode()
    assert reload(key).revoked_at is None
    response = client.post(url("revoke", org, key), follow=True)
    assert response.redirect_chain == [(url("list", org), 302)]
    assert f"The key “Laptop” ({key.hint}) is revoked" in response.content.decode()
    assert reload(key).status == ApiKeyStatus.REVOKED


def test_admin_revokes_a_members_key_a_member_cannot_touch_an_admins(
    client: Client, org: Organization, member_membership: Membership, admin_membership: Membership
) -> None:
    members_key, _ = make_key(member_membership)
    admins_key, _ = make_key(admin_membership)
    login(client, member_membership)
    assert client.get(url("revoke", org, admins_key)).status_code == 404
    assert client.post(url("revoke", org, admins_key)).status_code == 404
    assert reload(admins_key).revoked_at is None
    client.force_login(admin_membership.user)
    assert client.post(url("revoke", org, members_key)).status_code == 302
    assert reload(members_key).revoked_by == admin_membership.user


def test_another_orgs_key_is_404_on_every_page(
    client: Client, org: Organization, other_org: Organization, owner_membership: Membership
) -> None:
    foreign, _ = make_key(MembershipFactory(organization=other_org, role=Role.OWNER))
    login(client, owner_membership)
    for name in ("roll", "revoke"):
        assert client.get(url(name, org, foreign)).status_code == 404
        assert client.post(url(name, org, foreign), {"overlap": "0"}).status_code == 404
    assert reload(foreign).revoked_at is None
    assert reload(foreign).replaced_by is None


# Reloading the page that shows a new key


def test_reloading_the_created_page_creates_nothing_and_says_why(
    client: Client, org: Organization, member_membership: Membership
) -> None:
    login(client, member_membership)
    page = url("create", org)
    nonce = client.get(page).context["form"]["nonce"].value()
    first = client.post(page, {**CREATE, "nonce": nonce})
    assert len(plaintexts_in(first.content.decode())) == 1
    again = client.post(page, {**CREATE, "nonce": nonce}, follow=True)  # the browser's "resend"
    assert again.redirect_chain == [(url("list", org), 302)]
    assert "This key was already created; it is shown only once." in again.content.decode()
    assert not plaintexts_in(again.content.decode())
    assert ApiKey.objects.for_org(org).count() == 1


def test_a_form_error_keeps_the_nonce_usable(
    client: Client, org: Organization, member_membership: Membership
) -> None:
    login(client, member_membership)
    page = url("create", org)
    nonce = client.get(page).context["form"]["nonce"].value()
    invalid = client.post(page, {**CREATE, "name": "", "nonce": nonce})
    assert f'value="{nonce}"' in invalid.content.decode()
    assert client.post(page, {**CREATE, "nonce": nonce}).status_code == 200
    assert ApiKey.objects.for_org(org).count() == 1


def test_a_post_without_a_nonce_of_this_session_creates_nothing(
    client: Client, org: Organization, member_membership: Membership
) -> None:
    login(client, member_membership)
    for data in (CREATE, {**CREATE, "nonce": "made-up"}):
        response = client.post(url("create", org), data, follow=True)
        assert response.redirect_chain == [(url("create", org), 302)]
        assert "This form has expired. Fill it in again." in response.content.decode()
    assert not ApiKey.objects.for_org(org).exists()


def test_reloading_the_rolled_page_rolls_nothing(
    client: Client, org: Organization, member_membership: Membership
) -> None:
    old, _ = make_key(member_membership)
    login(client, member_membership)
    page = url("roll", org, old)
    nonce = client.get(page).context["form"]["nonce"].value()
    assert client.post(page, {"overlap": "3600", "nonce": nonce}).status_code == 200
    again = client.post(page, {"overlap": "3600", "nonce": nonce}, follow=True)
    assert "This key was already rolled; the new key is shown only once." in again.content.decode()
    assert ApiKey.objects.for_org(org).count() == 2


# A member demoted to viewer


def test_a_demoted_member_still_sees_and_revokes_their_keys_but_cannot_roll(
    client: Client, org: Organization, member_membership: Membership
) -> None:
    key, _ = make_key(member_membership, name="Laptop")
    Membership.objects.for_org(org).filter(pk=member_membership.pk).update(role=Role.VIEWER)
    login(client, member_membership)
    html = client.get(url("list", org)).content.decode()
    assert "Laptop" in html
    assert url("revoke", org, key) in html
    assert url("roll", org, key) not in html
    assert client.get(url("roll", org, key)).status_code == 403
    assert client.post(url("revoke", org, key)).status_code == 302
    assert reload(key).status == ApiKeyStatus.REVOKED


def test_the_project_dropdown_is_one_light_query(
    client: Client, org: Organization, member_membership: Membership, django_assert_num_queries
) -> None:
    for _ in range(3):
        ProjectFactory(organization=org)
    login(client, member_membership)
    html = client.get(url("create", org)).content.decode()
    assert ">Project</label>" in html
    form = client.get(url("create", org)).context["form"]
    with django_assert_num_queries(1) as captured:
        options = [option for option in form.fields["project"].choices]  # noqa: C416 (list() counts first)
    assert len(options) == 4  # "All projects" and the three
    assert "GROUP BY" not in captured.captured_queries[0]["sql"].upper()

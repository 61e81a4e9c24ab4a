"""The authorization request and the consent page: PKCE S256 first, the organization picker, Allow/Deny."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings
from django.test import Client

from accounts.audit.models import AuditAction
from accounts.core.permissions import Role
from accounts.models import AuditEvent, Membership, OAuthApplication, OAuthGrant, Organization, User
from tests.factories import MembershipFactory, ProjectFactory
from tests.support.oauth import REDIRECT, Authorization, code_from, consent, start
from tests.support.queries import REQUEST, with_rls

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(owner: User) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def _error_of(response: object) -> dict[str, str]:
    assert response.status_code == 302  # type: ignore[attr-defined]
    location = response["Location"]  # type: ignore[index]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


# The first step: refused before any consent page


@pytest.mark.parametrize("method", ["plain", None])
def test_plain_or_missing_pkce_method_is_refused_at_the_first_get(
    browser: Client, app: OAuthApplication, method: str | None
) -> None:
    authz = start(app)
    response = browser.get("/oauth/authorize/", authz.params(code_challenge_method=method))

    error = _error_of(response)
    assert error["error"] == "invalid_request"
    assert error["state"] == "xyz"
    assert not OAuthGrant.objects.exists()


def test_missing_code_challenge_is_refused(browser: Client, app: OAuthApplication) -> None:
    response = browser.get(
        "/oauth/authorize/", start(app).params(code_challenge=None, code_challenge_method=None)
    )

    assert _error_of(response)["error"] == "invalid_request"


def test_another_resource_is_invalid_target(browser: Client, app: OAuthApplication) -> None:
    response = browser.get("/oauth/authorize/", start(app).params(resource="https://other.example/mcp"))

    assert _error_of(response)["error"] == "invalid_target"


def test_unregistered_redirect_uri_is_not_followed(browser: Client, app: OAuthApplication) -> None:
    params = start(app).params(redirect_uri="http://127.0.0.1:53682/other")
    response = browser.get("/oauth/authorize/", params)

    assert response.status_code == 400
    assert b"This app cannot connect" in response.content


def test_loopback_redirect_matches_on_any_port(browser: Client, app: OAuthApplication) -> None:
    response = browser.get(
        "/oauth/authorize/", start(app).params(redirect_uri="http://127.0.0.1:61023/callback")
    )

    assert response.status_code == 200


def test_unknown_client_shows_an_error_page(browser: Client, db: None) -> None:
    response = browser.get(
        "/oauth/authorize/",
        Authorization(client_id="nope", verifier="v", challenge="c" * 43).params(),
    )

    assert response.status_code == 400
    assert b"This app cannot connect" in response.content


def test_prompt_none_is_refused_since_consent_is_always_asked(browser: Client, app: OAuthApplication) -> None:
    assert _error_of(browser.get("/oauth/authorize/", start(app).params(prompt="none")))["error"] == (
        "consent_required"
    )


# The page


def test_signed_out_person_signs_in_and_comes_back_to_the_same_consent(
    app: OAuthApplication, owner: User
) -> None:
    client = Client()
    url = "/oauth/authorize/?" + urlencode(start(app).params())
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?")
    assert parse_qs(urlsplit(response["Location"]).query)["next"] == [url]

    owner.set_password("pw-for-the-test")
    owner.save()
    signed_in = client.post(response["Location"], {"username": owner.email, "password": "pw-for-the-test"})
    assert signed_in.status_code == 302
    assert signed_in["Location"] == url
    assert client.get(url).status_code == 200


def test_consent_page_shows_app_account_scopes_and_cannot_be_framed(
    browser: Client, app: OAuthApplication, owner: User, org: Organization
) -> None:
    response = browser.get("/oauth/authorize/", start(app).params())

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    html = response.content.decode()
    assert "Test MCP client" in html
    assert owner.email in html
    assert "Use another account" in html
    assert "Create, edit and delete documents" in html  # the scope in plain words
    assert 'data-testid="loopback-warning"' in html
    assert "127.0.0.1:53682" in html
    assert f'value="{org.slug}"' in html


def test_only_the_persons_organizations_are_offered(
    browser: Client, app: OAuthApplication, org: Organization, other_org: Organization
) -> None:
    response = browser.get("/oauth/authorize/", start(app).params())

    choices = [slug for slug, _label in response.context["form"].fields["organization"].choices]
    assert choices == ["", org.slug]


def test_approval_prompt_auto_never_skips_the_organization_choice(
    browser: Client, app: OAuthApplication, org: Organization
) -> None:
    code_from(consent(browser, start(app), org=org))  # an earlier consent exists

    response = browser.get("/oauth/authorize/", start(app).params(approval_prompt="auto"))

    assert response.status_code == 200
    assert "form" in response.context


def test_https_app_without_cimd_is_marked_unverified(browser: Client, owner: User) -> None:
    app = OAuthApplication.objects.create(
        name="Claude",
        client_type=OAuthApplication.CLIENT_PUBLIC,
        authorization_grant_type=OAuthApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://claude.ai/api/mcp/auth_callback",
    )
    authz = start(app)
    response = browser.get(
        "/oauth/authorize/", authz.params(redirect_uri="https://claude.ai/api/mcp/auth_callback")
    )

    html = response.content.decode()
    assert 'data-testid="unverified-warning"' in html
    assert "claude.ai" in html


# Allow


def test_allow_stores_the_organization_on_the_grant_and_audits(
    browser: Client, app: OAuthApplication, org: Organization, owner: User, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        params = code_from(consent(browser, start(app), org=org))

    assert params["state"] == "xyz"
    assert params["iss"] == settings.PUBLIC_URL
    grant = OAuthGrant.objects.get(code=params["code"])
    assert grant.organization == org
    assert grant.project is None
    assert grant.user == owner
    assert grant.resource == [settings.MCP_RESOURCE_URL]
    events = list(
        AuditEvent.objects.for_org(org).order_by("id").values_list("action", "channel", "credential_id")
    )
    assert events == [
        (AuditAction.OAUTH_CLIENT_REGISTERED, "web", app.client_id),
        (AuditAction.OAUTH_CONSENT_GRANTED, "web", app.client_id),
    ]


def test_state_is_optional(browser: Client, app: OAuthApplication, org: Organization) -> None:
    authz = start(app)
    authz.state = None  # type: ignore[assignment]
    params = code_from(consent(browser, authz, org=org))

    assert "code" in params
    assert "state" not in params


def test_client_registered_is_recorded_once_per_organization(
    browser: Client, app: OAuthApplication, org: Organization
) -> None:
    code_from(consent(browser, start(app), org=org))
    code_from(consent(browser, start(app), org=org))

    actions = list(AuditEvent.objects.for_org(org).values_list("action", flat=True))
    assert actions.count(AuditAction.OAUTH_CLIENT_REGISTERED) == 1
    assert actions.count(AuditAction.OAUTH_CONSENT_GRANTED) == 2


def test_a_non_member_organization_is_refused(
    browser: Client, app: OAuthApplication, other_org: Organization
) -> None:
    response = consent(browser, start(app), org=other_org)

    assert response.status_code == 200
    assert response.context["form"].errors["organization"]
    assert not OAuthGrant.objects.exists()


def test_allow_without_an_organization_is_a_form_error(browser: Client, app: OAuthApplication) -> None:
    response = consent(browser, start(app), org=None)

    assert response.status_code == 200
    assert "organization" in response.context["form"].errors
    assert not OAuthGrant.objects.exists()


def test_a_viewers_grant_cannot_carry_write_scopes(
    app: OAuthApplication, viewer_membership: Membership
) -> None:
    browser = Client()
    browser.force_login(viewer_membership.user)
    org = viewer_membership.organization

    params = code_from(consent(browser, start(app), org=org))  # everything the app asked for is ticked

    assert OAuthGrant.objects.get(code=params["code"]).scope == "projects:read documents:read members:read"


def test_only_scopes_beyond_the_role_is_a_form_error(
    app: OAuthApplication, viewer_membership: Membership
) -> None:
    browser = Client()
    browser.force_login(viewer_membership.user)

    response = consent(browser, start(app), org=viewer_membership.organization, scopes=["audit:read"])

    assert response.status_code == 200
    assert "Viewer" in str(response.context["form"].errors["scopes"])
    assert not OAuthGrant.objects.exists()


def test_scopes_can_be_narrowed_and_write_brings_read(
    browser: Client, app: OAuthApplication, org: Organization
) -> None:
    params = code_from(consent(browser, start(app), org=org, scopes=["documents:write"]))

    assert OAuthGrant.objects.get(code=params["code"]).scope == "documents:read documents:write"


def test_scopes_the_app_did_not_ask_for_are_refused(
    browser: Client, app: OAuthApplication, org: Organization
) -> None:
    authz = start(app)
    response = consent(browser, authz, org=org, scopes=["audit:read"], scope="projects:read")

    assert response.status_code == 200
    assert response.context["form"].errors["scopes"]


def test_one_project_can_be_chosen(browser: Client, app: OAuthApplication, org: Organization) -> None:
    project = ProjectFactory(organization=org, slug="handbook")

    params = code_from(consent(browser, start(app), org=org, project=f"{org.slug}/handbook"))

    assert OAuthGrant.objects.get(code=params["code"]).project == project


def test_a_project_of_another_organization_is_refused(
    browser: Client, app: OAuthApplication, org: Organization, owner: User
) -> None:
    second = MembershipFactory(user=owner, role=Role.OWNER).organization
    ProjectFactory(organization=second, slug="secret")

    response = consent(browser, start(app), org=org, project=f"{second.slug}/secret")

    assert response.status_code == 200
    assert response.context["form"].errors["project"]
    assert not OAuthGrant.objects.exists()


# Deny


def test_deny_redirects_with_access_denied_and_audits(
    browser: Client, app: OAuthApplication, org: Organization
) -> None:
    error = _error_of(consent(browser, start(app), org=org, allow=False))

    assert error["error"] == "access_denied"
    assert error["state"] == "xyz"
    assert not OAuthGrant.objects.exists()
    assert list(AuditEvent.objects.for_org(org).values_list("action", flat=True)) == [
        AuditAction.OAUTH_CONSENT_DENIED
    ]


def test_deny_names_the_issuer(browser: Client, app: OAuthApplication, org: Organization) -> None:
    error = _error_of(consent(browser, start(app), org=org, allow=False))

    assert error["error"] == "access_denied"
    assert error.get("iss") == settings.PUBLIC_URL


def test_a_tampered_redirect_uri_on_post_is_not_followed(
    browser: Client, app: OAuthApplication, org: Organization
) -> None:
    page = browser.get("/oauth/authorize/", start(app).params())
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if form.fields[name].widget.is_hidden}
    data.update(redirect_uri="https://evil.example/cb", organization=org.slug, allow="1")
    data["scopes"] = form["scopes"].value()

    response = browser.post("/oauth/authorize/", data)

    # The page's hidden fields are not trusted: the signed request's redirect URI is the one used.
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT + "?")
    assert "evil.example" not in response["Location"]
    # And the signed request itself cannot be edited.
    data["authorization"] = data["authorization"][:-2] + "xx"
    assert browser.post("/oauth/authorize/", data).status_code == 400


def test_consent_post_requires_csrf(app: OAuthApplication, owner: User, org: Organization) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    page = browser.get("/oauth/authorize/", start(app).params())
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if form.fields[name].widget.is_hidden}
    data.update(organization=org.slug, allow="1", scopes=["projects:read"])

    assert browser.post("/oauth/authorize/", data).status_code == 403


def test_use_another_account_signs_out_and_returns_to_the_same_consent(
    browser: Client, app: OAuthApplication
) -> None:
    url = "/oauth/authorize/?" + urlencode(start(app).params())
    next_url = browser.get(url).context["switch_account_next"]

    response = browser.post("/logout/", {"next": next_url})

    assert response.status_code == 302
    assert response["Location"] == next_url
    assert parse_qs(urlsplit(next_url).query)["next"] == [url]
    assert browser.get(url).status_code == 302  # signed out now: sign-in first


def test_consent_page_query_count(
    browser: Client, app: OAuthApplication, org: Organization, django_assert_max_num_queries
) -> None:
    ProjectFactory.create_batch(3, organization=org)
    params = start(app).params()

    with django_assert_max_num_queries(with_rls(8, statements=REQUEST)):
        response = browser.get("/oauth/authorize/", params)
    assert response.status_code == 200

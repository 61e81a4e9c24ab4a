"""Item 6: a code used twice revokes every token issued from its first use (RFC 6749 §4.1.2)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.audit.models import AuditAction
from accounts.models import AuditEvent, OAuthApplication, Organization, User
from tests.support.oauth import access_token_works, code_from, consent, exchange, refresh, start

pytestmark = pytest.mark.django_db


def test_a_replayed_code_revokes_the_tokens_of_its_first_use(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    browser = Client()
    browser.force_login(owner)
    authz = start(app)
    code = code_from(consent(browser, authz, org=org))["code"]
    first = exchange(Client(), authz, code)
    assert first.status_code == 200
    tokens = first.json()
    assert access_token_works(tokens["access_token"])

    replay = exchange(Client(REMOTE_ADDR="203.0.113.9"), authz, code)

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert not access_token_works(tokens["access_token"])
    assert refresh(Client(), app.client_id, tokens["refresh_token"]).status_code == 400
    event = AuditEvent.objects.for_org(org).get(action=AuditAction.OAUTH_CODE_REUSE_DETECTED)
    assert (event.actor, event.ip, event.channel) == (owner, "203.0.113.9", "api")


def test_tokens_refreshed_since_the_code_are_revoked_too(
    app: OAuthApplication, owner: User, org: Organization
) -> None:
    browser = Client()
    browser.force_login(owner)
    authz = start(app)
    code = code_from(consent(browser, authz, org=org))["code"]
    tokens = exchange(Client(), authz, code).json()
    rotated = refresh(Client(), app.client_id, tokens["refresh_token"]).json()
    assert access_token_works(rotated["access_token"])

    assert exchange(Client(), authz, code).status_code == 400

    assert not access_token_works(rotated["access_token"])
    assert refresh(Client(), app.client_id, rotated["refresh_token"]).status_code == 400


def test_a_fresh_consent_after_a_replay_works(app: OAuthApplication, owner: User, org: Organization) -> None:
    browser = Client()
    browser.force_login(owner)
    authz = start(app)
    code = code_from(consent(browser, authz, org=org))["code"]
    exchange(Client(), authz, code)
    exchange(Client(), authz, code)

    again = start(app)
    new = exchange(Client(), again, code_from(consent(browser, again, org=org))["code"])
    assert new.status_code == 200
    assert access_token_works(new.json()["access_token"])

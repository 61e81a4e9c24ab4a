"""The database unreachable: the REST API, the OAuth endpoints and the dashboard answer 503, never 500.

Each answer says to retry (Retry-After), in its channel's shape, with nothing of the driver's message;
the failure is logged once, on the server. tests/test_outage_e2e.py stops a real PostgreSQL.
"""

from __future__ import annotations

import json
import logging
from unittest import mock

import pytest
from django.db import ProgrammingError
from django.test import Client

from accounts.core import outage
from accounts.models import Membership, Organization, User
from tests.support.apikeys import make_key
from tests.support.oauth import register
from tests.support.outage import DRIVER_TEXT, assert_nothing_internal, database_down

pytestmark = pytest.mark.django_db

DESCRIPTION = "The database is unavailable; try again in a few seconds."


def _outage_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info and DRIVER_TEXT in str(r.exc_info[1])]


def test_rest_api_answers_503_json_in_its_error_shape(
    client: Client, owner_membership: Membership, caplog: pytest.LogCaptureFixture
) -> None:
    key = make_key(owner_membership)[1]
    with database_down(), caplog.at_level(logging.INFO):
        response = client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": DESCRIPTION,
        "retry_after": 5,
    }
    assert_nothing_internal(response.content.decode())
    # Logged once, with the driver's message, and no second line for the same response.
    assert len(_outage_records(caplog)) == 1
    assert [r for r in caplog.records if r.name == "django.request"] == _outage_records(caplog)


def test_rest_api_outage_after_authentication_is_503_too(
    client: Client, owner_membership: Membership
) -> None:
    key = make_key(owner_membership)[1]
    assert client.get("/api/v1/whoami/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    with database_down():
        response = client.post(
            "/api/v1/projects/",
            json.dumps({"name": "X", "slug": "x"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_rest_api_503_is_translated(client: Client, owner_membership: Membership) -> None:
    key = make_key(owner_membership)[1]
    with database_down():
        response = client.get(
            "/api/v1/projects/", HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="ru"
        )
    assert response.status_code == 503
    assert response.json()["error_description"].startswith("База данных недоступна")


def test_oauth_token_endpoint_answers_503_json(client: Client) -> None:
    with database_down():
        response = client.post(
            "/oauth/token/",
            {"grant_type": "authorization_code", "code": "abc", "client_id": "some-client"},
        )
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response.json() == {"error": "temporarily_unavailable", "error_description": DESCRIPTION}
    assert_nothing_internal(response.content.decode())


def test_oauth_registration_answers_503_json() -> None:
    with database_down():
        response = register(Client(), scope="projects:read")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"] == "temporarily_unavailable"
    assert_nothing_internal(response.content.decode())


def test_oauth_metadata_needs_no_database(client: Client) -> None:
    with database_down():
        response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response.json()["token_endpoint"].endswith("/oauth/token/")


def test_a_session_that_cannot_be_saved_is_a_503_page_not_a_500(
    owner_client: Client, org: Organization, caplog: pytest.LogCaptureFixture
) -> None:
    # The view has answered (the organization's page remembers it in the session); the database goes
    # away before the session is saved, in the response phase, where no view's exception handling reaches.
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import OperationalError

    def refuse(self: SessionStore, must_create: bool = False) -> None:
        raise OperationalError(DRIVER_TEXT)

    with mock.patch.object(SessionStore, "save", refuse), caplog.at_level(logging.INFO):
        response = owner_client.get(f"/orgs/{org.slug}/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Gatehouse cannot reach its database right now." in response.content.decode()
    assert_nothing_internal(response.content.decode())
    assert len(_outage_records(caplog)) == 1


def test_dashboard_answers_a_friendly_503_page(
    owner_client: Client, org: Organization, caplog: pytest.LogCaptureFixture
) -> None:
    with database_down(), caplog.at_level(logging.INFO):
        response = owner_client.get(f"/orgs/{org.slug}/projects/?page=2")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert "<title>Temporarily unavailable · Gatehouse</title>" in page
    assert "Gatehouse cannot reach its database right now." in page
    assert f'href="/orgs/{org.slug}/projects/?page=2"' in page  # "Try again"
    assert "css/app" in page  # the site's look
    assert_nothing_internal(page)
    assert len(_outage_records(caplog)) == 1


def test_an_outage_logs_a_line_per_request_and_its_traceback_once_a_minute(
    client: Client, owner_membership: Membership, caplog: pytest.LogCaptureFixture
) -> None:
    key = make_key(owner_membership)[1]
    with database_down(), caplog.at_level(logging.INFO):
        for _ in range(3):
            assert client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 503
        lines = [r for r in caplog.records if r.name == "django.request"]
        assert [r.levelname for r in lines] == ["ERROR"] * 3
        assert all("OperationalError" in r.getMessage() for r in lines)
        assert len(_outage_records(caplog)) == 1

        with mock.patch.object(outage.time, "monotonic", return_value=outage.time.monotonic() + 61):
            client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Bearer {key}")
        assert len(_outage_records(caplog)) == 2


def test_dashboard_503_page_in_russian(owner_client: Client, org: Organization) -> None:
    with database_down():
        response = owner_client.get(f"/orgs/{org.slug}/projects/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 503
    page = response.content.decode()
    assert '<html lang="ru">' in page
    assert "Временно недоступно" in page
    assert "Повторить" in page


def test_consent_page_is_a_page_not_json(owner_client: Client, owner: User) -> None:
    with database_down():
        response = owner_client.get("/oauth/authorize/?client_id=x&response_type=code")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")


def test_other_database_errors_stay_500(client: Client, owner_membership: Membership) -> None:
    """An IntegrityError or a ProgrammingError is a bug, not an outage: no "retry later" for it."""
    key = make_key(owner_membership)[1]
    with mock.patch("accounts.api.views.project_list", side_effect=ProgrammingError("no such column")):
        client.raise_request_exception = False
        response = client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 500

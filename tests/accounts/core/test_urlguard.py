"""Keys in URLs are refused, and no log line (Django's or uvicorn's) or error page ever shows a key."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from django.test import Client

from accounts.core.redaction import redact
from accounts.core.urlguard import credential_in_query, credential_in_url
from accounts.models import Membership
from apikeys import keys
from tests.support.apikeys import make_key
from tests.support.live import serve_in_thread

KEY = keys.generate()


@pytest.mark.parametrize("parameter", ["api_key", "key", "token", "access_token", "API_KEY", "apikey"])
@pytest.mark.parametrize("path", ["/api/v1/projects/", "/orgs/acme/keys/", "/login/", "/no/such/page/"])
def test_a_key_in_the_query_string_is_refused_on_every_path(
    client: Client, parameter: str, path: str
) -> None:
    response = client.get(f"{path}?{parameter}={KEY}&q=x")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert parameter in body["error_description"]
    assert "Authorization: Bearer" in body["error_description"]
    assert KEY not in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_a_key_shaped_value_is_refused_whatever_the_parameter(client: Client) -> None:
    response = client.get(f"/api/v1/projects/?q=hello&x={KEY}")
    assert response.status_code == 400
    assert KEY not in response.content.decode()


def test_a_key_in_the_path_is_refused_rather_than_echoed_by_a_404_page(client: Client) -> None:
    response = client.get(f"/api/v1/{KEY}/")
    assert response.status_code == 400
    assert KEY not in response.content.decode()


def test_ordinary_query_strings_pass(db: None, client: Client) -> None:
    assert client.get("/login/?next=/orgs/acme/&q=sk-learn-notes").status_code == 200
    assert credential_in_query("q=sk-learn-notes&project=sk-notes-and-more-things") is None
    assert (
        credential_in_url(path="/orgs/acme/projects/sk-learn-notes-for-the-whole-team/", query_string="")
        is None
    )


@pytest.mark.parametrize(
    "line",
    [
        f'127.0.0.1:5000 - "GET /api/v1/projects/?api_key={KEY} HTTP/1.1" 400',
        f"Authorization: Bearer {KEY}",
        f"authorization: bearer {KEY}",
        f"token {KEY} leaked",
        f"/api/v1/?access_token={KEY}&x=1",
        f'{{"key": "{KEY}"}}',
    ],
)
def test_redact_removes_keys_from_any_text(line: str) -> None:
    assert KEY not in redact(line)
    assert KEY[3:] not in redact(line)


def test_uvicorns_access_log_line_is_redacted_before_any_handler(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    # Exactly how uvicorn.protocols.http logs a request.
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/api/v1/projects/?api_key={KEY}", "1.1", 400
    )
    assert "GET /api/v1/projects/?api_key=[REDACTED] HTTP/1.1" in caplog.text
    assert KEY not in caplog.text


def test_a_traceback_quoting_a_key_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise ValueError(f"could not parse {KEY}")
    except ValueError:
        logging.getLogger("django.request").exception("Internal Server Error: %s", "/api/v1/projects/")
    assert "ValueError: could not parse sk-[REDACTED]" in caplog.text
    assert KEY not in caplog.text


@pytest.fixture
def live_server_url() -> Iterator[str]:
    """The real ASGI app under a real uvicorn, with its access log on, and the project's logging config."""
    from config.asgi import application

    with serve_in_thread(application, lifespan="off", access_log=True) as url:
        yield url


@pytest.mark.django_db(transaction=True)
def test_no_key_reaches_the_logs_of_a_real_server(
    owner_membership: Membership, live_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    _, plaintext = make_key(owner_membership)
    with httpx.Client(base_url=live_server_url) as http:
        assert (
            http.get("/api/v1/projects/", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200
        )
        assert http.get(f"/api/v1/projects/?api_key={plaintext}").status_code == 400
        assert http.get(f"/orgs/acme/?token={plaintext}").status_code == 400
        assert (
            http.get("/api/v1/projects/", headers={"Authorization": f"Bearer {plaintext[:-1]}x"}).status_code
            == 401
        )
    access_lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert len(access_lines) == 4  # the lines were captured: the test would see a key if one were logged
    assert "/api/v1/projects/?api_key=[REDACTED]" in caplog.text
    assert plaintext not in caplog.text
    assert plaintext[3:-1] not in caplog.text


def test_an_invitation_link_is_redacted_but_the_token_free_page_is_not() -> None:
    token = "Zq3x_8kPj-2mN5vR7tY9wA1bC4dE6fG0hI2jK3lM5nO"
    line = f'127.0.0.1:5000 - "GET /invitations/{token}/ HTTP/1.1" 302'
    assert redact(line) == '127.0.0.1:5000 - "GET /invitations/[REDACTED]/ HTTP/1.1" 302'
    assert redact(f"/login/?next=/invitations/{token}/") == "/login/?next=/invitations/[REDACTED]/"
    assert redact('"GET /invitations/accept/ HTTP/1.1" 200') == '"GET /invitations/accept/ HTTP/1.1" 200'


def test_the_url_guard_and_the_log_filter_share_one_idea_of_a_secret() -> None:
    # A slug that merely starts like a key is neither refused nor redacted; a real key is both.
    assert redact("/orgs/acme/projects/sk-learn-notes/") == "/orgs/acme/projects/sk-learn-notes/"
    assert credential_in_url(path=f"/x/{KEY}/", query_string="") == "path"
    assert redact(f"/x/{KEY}/") == "/x/sk-[REDACTED]/"


def test_django_log_lines_go_through_the_redacting_handler_only() -> None:
    import logging

    from accounts.core.redaction import RedactSecretsFilter

    django_logger = logging.getLogger("django")
    assert django_logger.handlers == []
    assert django_logger.propagate
    # pytest adds its own capture handlers to the root logger; ours is the one that prints.
    printing = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert printing
    assert all(any(isinstance(f, RedactSecretsFilter) for f in h.filters) for h in printing)

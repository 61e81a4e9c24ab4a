"""Item 5: no secret reaches a log line, however it is spelt in the URL that carried it."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from accounts.core.redaction import redact
from apikeys import keys

KEY = keys.generate()
SECRET = "Xy9-client-secret-value-4f8a2c1d9e7b"
VERIFIER = "Zq3x8kPj2mN5vR7tY9wA1bC4dE6fG0hI2jK3lM5nO7p"
RESET_TOKEN = "cd8k2p-9f1a3c5e7b2d4f6a8c0e1b3d5f7a9c2e"


@pytest.mark.parametrize(
    "line",
    [
        f"GET /api/v1/projects/?q%3D{KEY} HTTP/1.1",
        f"GET /x/%3D{KEY}/ HTTP/1.1",
        f"GET /x/sk%2D{KEY[3:]}/ HTTP/1.1",
        f"GET /x/?next=%2Fy%3Fk%253D{KEY} HTTP/1.1",
        f"GET /oauth/authorize/?next=%3Fapi_key%3D{KEY[3:]}",
    ],
)
def test_a_percent_encoded_key_is_redacted(line: str) -> None:
    assert KEY[3:] not in redact(line)
    assert KEY[5:20] not in redact(line)


@pytest.mark.parametrize(
    "line",
    [
        f'"POST /oauth/token/?client_secret={SECRET}&grant_type=refresh_token HTTP/1.1" 400',
        f'"GET /oauth/authorize/?client_id=abc&code_verifier={VERIFIER}&state=x HTTP/1.1" 400',
        f'"GET /oauth/authorize/?client_id=abc&client_secret={SECRET} HTTP/1.1" 400',
    ],
)
def test_oauth_secrets_in_query_strings_are_redacted(line: str) -> None:
    redacted = redact(line)
    assert SECRET not in redacted
    assert VERIFIER not in redacted
    assert "client_id=abc" in redacted or "grant_type=refresh_token" in redacted  # the rest stays readable


@pytest.mark.parametrize("path", ["/oauth/token/", "/oauth/authorize/", "/login/"])
@pytest.mark.parametrize("parameter", ["client_secret", "code_verifier", "refresh_token", "password"])
def test_oauth_secrets_in_a_url_are_refused(client: Client, path: str, parameter: str) -> None:
    response = client.get(f"{path}?{parameter}={SECRET}")
    assert response.status_code == 400
    assert SECRET not in response.content.decode()


def test_password_reset_and_confirmation_tokens_in_paths_are_redacted() -> None:
    for prefix in ("/password-reset/MTIz/", "/account/confirm-email/MTIz/"):
        line = f'127.0.0.1:5000 - "GET {prefix}{RESET_TOKEN}/ HTTP/1.1" 302'
        assert RESET_TOKEN not in redact(line)
        assert f"{prefix}[REDACTED]" in redact(line)
    # The token-free pages they redirect to stay readable.
    assert redact("GET /password-reset/MTIz/set-password/") == "GET /password-reset/MTIz/set-password/"
    assert redact("GET /account/confirm-email/MTIz/confirm/") == "GET /account/confirm-email/MTIz/confirm/"


def test_the_access_log_of_a_reset_link_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/password-reset/MTIz/{RESET_TOKEN}/", "1.1", 302
    )
    assert RESET_TOKEN not in caplog.text

"""Every secret the test suite makes, and every log line it writes, so that one test can check that no
secret ever reached a log (a pytest plugin: tests/conftest.py; the check is tests/security/test_logs.py).

Recorded as they are made: passwords set on accounts, `secrets.token_urlsafe()` values (invitation
tokens, PKCE verifiers, the random part of OAuth tokens), Django's one-time tokens (password reset,
email confirmation) and OAuth client secrets. Keys and OAuth tokens are also found by their shape
(`sk-…`, `wat_…`, `wrt_…`). Captured: every log record of the test process, formatted the way the
console handler prints it (through the same redacting filter), and the output of the uvicorn
subprocesses the tests start (tests/support/servers.py).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

MIN_LENGTH = 12
SHAPES = re.compile(r"sk-[0-9A-Za-z]{40,}|wat_[A-Za-z0-9_\-]{20,}|wrt_[A-Za-z0-9_\-]{20,}")
TOKENS = re.compile(rf"[A-Za-z0-9_\-]{{{MIN_LENGTH},}}")
# OAuth clients (the SDKs' included) make their `state` with token_urlsafe too, but it travels in the
# authorization URL by design (RFC 6749 §4.1.1): not a secret of Gatehouse's to keep out of logs.
STATE = re.compile(r"[?&]state=([A-Za-z0-9_\-]+)")

recorded: set[str] = set()  # secrets without spaces: matched as whole tokens of a log line
spaced: set[str] = set()  # secrets with spaces (pass phrases): matched as substrings
captured: list[str] = []


def record(value: object) -> None:
    if isinstance(value, str) and len(value) >= MIN_LENGTH:
        (spaced if " " in value else recorded).add(value)


def _recording(function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value = function(*args, **kwargs)
        record(value)
        return value

    return wrapper


class CaptureHandler(logging.Handler):
    """Keeps what the console handler would print: the same redaction, the whole traceback."""

    def __init__(self) -> None:
        from accounts.core.redaction import RedactSecretsFilter

        super().__init__(level=logging.DEBUG)
        self.addFilter(RedactSecretsFilter())
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            captured.append(self.format(record))
        except Exception:  # a record that cannot be formatted is not this check's business
            captured.append(str(record.msg))


def leaks(text: str) -> list[str]:
    """The secrets in `text`, each cut to a recognisable prefix (the report must not print them)."""
    found = {match.group(0) for match in SHAPES.finditer(text)}
    public = set(STATE.findall(text))
    found |= {token for token in TOKENS.findall(text) if token in recorded and token not in public}
    found |= {secret for secret in spaced if secret in text}
    return sorted(f"{secret[:6]}…({len(secret)} chars)" for secret in found)


@pytest.fixture(scope="session", autouse=True)
def _record_secrets_and_logs() -> Iterator[None]:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.tokens import PasswordResetTokenGenerator
    from oauth2_provider.generators import ClientSecretGenerator

    patches = [
        (secrets, "token_urlsafe", _recording(secrets.token_urlsafe)),
        (PasswordResetTokenGenerator, "make_token", _recording(PasswordResetTokenGenerator.make_token)),
        (ClientSecretGenerator, "hash", _recording(ClientSecretGenerator.hash)),
    ]
    set_password = AbstractBaseUser.set_password

    def recording_set_password(self: Any, raw_password: str | None) -> None:
        record(raw_password)
        set_password(self, raw_password)

    patches.append((AbstractBaseUser, "set_password", recording_set_password))
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    handler = CaptureHandler()
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
        for owner, name, original in originals:
            setattr(owner, name, original)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The log check reads what every other test logged: it runs last."""
    last = [item for item in items if item.get_closest_marker("runs_last")]
    items[:] = [item for item in items if item not in last] + last

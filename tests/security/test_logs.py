"""Done-when of issue 9: the whole suite's logs, run through a secret detector, hold no secret.

The suite makes keys, OAuth tokens, client secrets, PKCE verifiers, reset and confirmation links,
invitations and passwords, and sends them through every path, error paths included; this test
runs after all of it (tests/support/secret_detector.py records both sides).
"""

from __future__ import annotations

import pytest

from apikeys import keys
from tests.support import secret_detector
from tests.support.servers import SERVER_LOGS


def test_the_detector_finds_each_kind_of_secret() -> None:
    key = keys.generate()
    secret_detector.record("Zq3x_8kPj-2mN5vR7tY9wA1bC4dE6fG0hI2jK3lM5nO")
    secret_detector.record("a pass phrase nobody guesses")
    line = (
        f"GET /x?k={key} /invitations/Zq3x_8kPj-2mN5vR7tY9wA1bC4dE6fG0hI2jK3lM5nO/ "
        "wat_abcdefghijklmnopqrstuvwxyz0123 password=a pass phrase nobody guesses"
    )
    assert len(secret_detector.leaks(line)) == 4
    assert secret_detector.leaks("GET /x?k=sk-[REDACTED] /invitations/[REDACTED]/") == []


def test_the_detector_lets_an_oauth_state_through() -> None:
    state = "Yq3x_8kPj-2mN5vR7tY9wA1bC4dE6fG0hI2jK3lM5nO"
    secret_detector.record(state)

    assert secret_detector.leaks(f"GET /oauth/authorize/?client_id=c&state={state}") == []
    assert len(secret_detector.leaks(f"GET /oauth/authorize/?client_id={state}&state=other")) == 1


@pytest.mark.runs_last
def test_no_secret_reached_the_logs_of_the_whole_suite() -> None:
    lines = list(secret_detector.captured)
    for path in SERVER_LOGS:
        if path.exists():
            lines += path.read_text(errors="replace").splitlines()
    assert len(lines) > 100, "the detector saw almost no log lines: is it still attached?"
    assert len(secret_detector.recorded) > 50, "the detector recorded almost no secrets"
    found = {leak: line[:120] for line in lines for leak in secret_detector.leaks(line)}
    assert not found, f"secrets in log lines (shown cut): {found}"

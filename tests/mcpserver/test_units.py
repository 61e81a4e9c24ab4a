"""Small pieces of the MCP endpoint, in-process: rate parsing and windows, bearer parsing, seed_demo."""

from __future__ import annotations

import io
import re
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings

from mcpserver.auth import bearer_token, www_authenticate
from mcpserver.limits import Limited, Rate, check_rate_limits, parse_rate
from tests.factories import principal_for
from tests.support.mcp import Tenant, post, tool_call


@pytest.mark.parametrize(
    ("value", "rate"), [("300/min", Rate(300, 60)), ("5/sec", Rate(5, 1)), ("10/hour", Rate(10, 3600))]
)
def test_parse_rate(value: str, rate: Rate) -> None:
    assert parse_rate(value) == rate


@pytest.mark.parametrize("value", ["", "300", "x/min", "0/min", "10/fortnight"])
def test_a_bad_rate_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        parse_rate(value)


@override_settings(MCP_RATE_LIMIT_PER_CREDENTIAL="2/min", MCP_RATE_LIMIT_PER_ORG="100/min")
def test_a_window_resets(acme: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    principal = principal_for(acme.owner)
    start = 6000.0  # the first request starts a one-minute window
    now = [start]
    monkeypatch.setattr(time, "time", lambda: now[0])

    def at(moment: float) -> Limited | None:
        now[0] = moment
        return check_rate_limits(principal=principal)

    assert at(start) is None
    assert at(start + 1) is None
    limited = at(start + 15)
    assert limited is not None
    assert limited.limit == "credential"
    assert limited.retry_after == 45
    assert at(start + 60) is None


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("Basic abc", None),
        ("Bearer", ""),
        ("Bearer a b", ""),
        ("bearer  sk-x ", "sk-x"),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_www_authenticate_always_names_the_resource_metadata() -> None:
    challenge = www_authenticate(error="insufficient_scope", scope="projects:write")
    assert challenge.startswith(
        'Bearer error="insufficient_scope", scope="projects:write", resource_metadata="'
    )
    assert challenge.endswith('/.well-known/oauth-protected-resource/mcp"')


def test_seed_demo_prints_the_mcp_url_and_a_key_that_works_there(mcp_url: str) -> None:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue()
    assert "/mcp" in printed
    assert "claude mcp add --transport http gatehouse" in printed
    key = re.search(r"sk-[0-9A-Za-z]{40,}", printed)
    assert key is not None
    response = post(mcp_url, tool_call("whoami"), key.group(0))
    assert response.json()["result"]["structuredContent"]["organization"]["slug"] == "demo"

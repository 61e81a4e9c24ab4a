"""A bounded fuzz of everything reachable from outside, in CI: no input may produce a 5xx.

- `/mcp`: generated JSON-RPC messages (known and made-up methods, every tool with made-up
  arguments, garbage bodies), in both protocol eras, with a valid key.
- Every OAuth endpoint: made-up and malformed parameters, signed in and not.
- The REST API, operation by operation from its own OpenAPI schema (schemathesis), with data that
  fits the schema and data that does not.

Examples are derandomized so that CI is repeatable; `FUZZ_EXAMPLES=2000 FUZZ_RANDOM=1 make test
PYTEST_ARGS=tests/security/test_fuzz.py` fuzzes harder, with a new seed each run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from django.contrib.admindocs.views import extract_views_from_urlpatterns
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client, override_settings
from django.urls import get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from accounts.core.permissions import Role
from accounts.models import Membership, Organization
from mcpserver import tools
from mcpserver.registry import REGISTRY
from tests.factories import DocumentFactory, MembershipFactory, ProjectFactory
from tests.support.apikeys import make_key
from tests.support.mcp import JSON, Tenant
from tests.support.oauth import register

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
UNLIMITED = override_settings(
    MCP_RATE_LIMIT_PER_CREDENTIAL="100000/min",
    MCP_RATE_LIMIT_PER_ORG="100000/min",
    OAUTH_TOKEN_RATE="100000/m",
    OAUTH_TOKEN_FAILURE_RATE="100000/m",
    OAUTH_DCR_RATE="100000/h",
)

text = st.text(max_size=40)
# What a human fuzzer tries first: NUL bytes (PostgreSQL refuses them in text), encoded ones, long
# values, markup, numbers in string clothing.
nasty = st.sampled_from(["\x00", "a\x00b", "%00", "A" * 5000, "<script>", "../..", "-1", "1e309", " "])
text = text | nasty
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)


# /mcp

METHODS = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "server/discover",
    "subscriptions/listen",
    "notifications/initialized",
]


def _tool_arguments(name: str) -> st.SearchStrategy[dict[str, Any]]:
    tool = REGISTRY.get(name)
    known = (
        [p for p in tool.fn.__code__.co_varnames[: tool.fn.__code__.co_argcount] if p != "principal"]
        if tool
        else []
    )
    keys = st.sampled_from(known) | st.text(max_size=10) if known else st.text(max_size=10)
    return st.dictionaries(keys, json_values, max_size=5)


assert tools.MODULES  # importing them registers every tool
tool_calls = st.sampled_from(sorted(REGISTRY)).flatmap(
    lambda name: st.fixed_dictionaries(
        {"name": st.just(name), "arguments": _tool_arguments(name) | json_values}
    )
)
params = tool_calls | st.dictionaries(
    st.sampled_from(["name", "uri", "cursor", "arguments", "ref", "argument", "level", "_meta"])
    | st.text(max_size=8),
    json_values,
    max_size=5,
)
messages = st.fixed_dictionaries(
    {"jsonrpc": st.just("2.0") | json_values, "method": st.sampled_from(METHODS) | text},
    optional={"id": st.integers() | text | st.none(), "params": params | json_values},
)
# Deep nesting: a parser's recursion limit, reached by a body of a few kilobytes.
nested = st.integers(min_value=500, max_value=20_000).flatmap(
    lambda depth: st.sampled_from(["[" * depth, '{"a":' * depth, "[" * depth + "]" * depth])
)
bodies = (
    messages.map(json.dumps)
    | nested
    | json_values.map(json.dumps)
    | st.binary(max_size=300).map(lambda b: b.decode("latin-1"))
)
eras = st.sampled_from([{}, {"MCP-Protocol-Version": "2025-11-25"}, {"MCP-Protocol-Version": "2026-07-28"}])


@UNLIMITED
def test_mcp_never_answers_5xx(mcp_url: str, acme: Tenant) -> None:
    with httpx.Client(timeout=30) as http:

        @FUZZ
        @given(body=bodies, era=eras)
        def fuzz(body: str, era: dict[str, str]) -> None:
            headers = {**JSON, **era, "Authorization": f"Bearer {acme.key}"}
            response = http.post(mcp_url, content=body.encode("utf-8", "surrogatepass"), headers=headers)
            assert response.status_code < 500, (body[:300], response.text[:300])
            if response.status_code == 200 and response.content:
                assert response.json().get("jsonrpc") == "2.0"

        fuzz()


# OAuth

OAUTH_PARAMETERS = [
    "grant_type",
    "code",
    "redirect_uri",
    "client_id",
    "client_secret",
    "code_verifier",
    "code_challenge",
    "code_challenge_method",
    "refresh_token",
    "token",
    "token_type_hint",
    "scope",
    "state",
    "resource",
    "response_type",
    "prompt",
    "nonce",
    "organization",
    "project",
    "scopes",
    "allow",
    "authorization",
]
# Every grant type a client might send, registered with IANA or not (RFC 8628, 7523, 8693, CIBA...).
GRANT_TYPES = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
    "implicit",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
    "urn:openid:params:grant-type:ciba",
]
oauth_values = text | st.sampled_from([*GRANT_TYPES, "code", "token", "S256", "plain", "none", ""])
oauth_params = st.dictionaries(
    st.sampled_from(OAUTH_PARAMETERS) | st.text(max_size=10), oauth_values, max_size=8
)
# A valid registration with one field spoiled (or dropped) reaches further than random bodies do.
VALID_REGISTRATION: dict[str, Any] = {
    "client_name": "Fuzz client",
    "redirect_uris": ["http://127.0.0.1:9/cb"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
    "scope": "mcp:read",
}
spoiled_registrations = st.tuples(
    st.sampled_from(sorted(VALID_REGISTRATION)),
    json_values | st.lists(oauth_values, max_size=3) | st.just(...),
).map(lambda spoil: {k: v for k, v in {**VALID_REGISTRATION, spoil[0]: spoil[1]}.items() if v is not ...})
registrations = spoiled_registrations | st.fixed_dictionaries(
    {},
    optional={
        "client_name": json_values,
        "redirect_uris": st.lists(text | st.just("http://127.0.0.1:9/cb"), max_size=3) | json_values,
        "grant_types": st.lists(st.sampled_from(GRANT_TYPES) | text, max_size=3),
        "response_types": json_values,
        "token_endpoint_auth_method": st.sampled_from(["none", "client_secret_basic", "private_key_jwt"])
        | json_values,
        "scope": json_values,
    },
)


@UNLIMITED
@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["authorize", "authorize-post", "token", "revoke", "introspect"])
def test_oauth_endpoints_never_answer_5xx(endpoint: str, owner_membership: Membership) -> None:
    signed_in = Client()
    signed_in.force_login(owner_membership.user)
    client_id = register(Client()).json()["client_id"]
    # Each parameter present half the time; the token endpoint always gets a grant type someone uses
    # (made-up ones come through oauth_params).
    required = {"grant_type": st.sampled_from(GRANT_TYPES)} if endpoint == "token" else {}
    optional = {name: oauth_values for name in OAUTH_PARAMETERS if name not in required}
    known = st.fixed_dictionaries(required, optional=optional)

    @FUZZ
    @given(params=known | oauth_params, browser=st.booleans(), real_client=st.booleans())
    def fuzz(params: dict[str, str], browser: bool, real_client: bool) -> None:
        if real_client:
            params = {**params, "client_id": client_id}
        client = signed_in if browser else Client()
        if endpoint == "authorize":
            response = client.get("/oauth/authorize/", params)
        elif endpoint == "authorize-post":
            response = client.post("/oauth/authorize/", params)
        else:
            response = client.post(f"/oauth/{endpoint}/", params)
        assert response.status_code < 500, (endpoint, params)

    fuzz()


@UNLIMITED
@pytest.mark.django_db
def test_registration_and_metadata_never_answer_5xx() -> None:
    @FUZZ
    @given(body=registrations.map(json.dumps) | json_values.map(json.dumps) | text, path=st.text(max_size=30))
    def fuzz(body: str, path: str) -> None:
        client = Client()
        response = client.post("/oauth/register/", data=body, content_type="application/json")
        assert response.status_code < 500, body
        for url in (f"/oauth/register/{path}/", f"/.well-known/oauth-authorization-server/{path}"):
            assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {path}").status_code < 500, url

    fuzz()


# Every route that takes a path parameter


def _routes_with_parameters() -> list[str]:
    """Each URL pattern with a `<...>` in it (the admin's aside), as Django's admindocs lists them."""
    return sorted(
        route.replace("^(?P<path>.*)$", "<path>")
        for _view, route, _namespace, _name in extract_views_from_urlpatterns(get_resolver().url_patterns)
        if "<" in route and not route.startswith("admin/")
    )


ROUTES = _routes_with_parameters()
PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
path_values = nasty | st.text(min_size=1, max_size=20) | st.sampled_from(["doc_", "prj_", "1", "0", "-1"])


@UNLIMITED
@pytest.mark.django_db
def test_every_route_with_a_parameter_never_answers_5xx(owner_membership: Membership) -> None:
    """The organization in the path is the owner's, so each route reaches past its tenancy check."""
    org_slug = owner_membership.organization.slug
    key = make_key(owner_membership, scopes=None)[1]
    signed_in = Client()
    signed_in.force_login(owner_membership.user)
    assert len(ROUTES) > 20

    @FUZZ
    @given(route=st.sampled_from(ROUTES), value=path_values, post=st.booleans())
    def fuzz(route: str, value: str, post: bool) -> None:
        def fill(match: re.Match[str]) -> str:
            return org_slug if match.group(1) == "org_slug" else quote(value, safe="")

        path = "/" + PARAMETER.sub(fill, route)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if path.startswith("/api/") else {}
        response = (signed_in.post if post else signed_in.get)(path, **headers)
        assert response.status_code < 500, (path, post)

    fuzz()


# REST API, from its OpenAPI schema


def _rest_schema() -> Any:
    # Loaded at collection (the schema view needs no database), so that each operation is a test.
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=max(3, EXAMPLES // 20),
        deterministic=not os.environ.get("FUZZ_RANDOM"),
        allow_x00=True,
        database="none",
    )
    return schema


rest_schema = _rest_schema()


@pytest.fixture
def _keep_the_test_connection() -> Iterator[None]:
    """Django's WSGI handler closes the database connection after each request; the test client does
    not, and neither may this test: its data lives in a transaction on that connection."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def api_key(org: Organization, _keep_the_test_connection: None) -> str:
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    project = ProjectFactory(organization=org, slug="handbook")
    DocumentFactory(project=project)
    return make_key(owner, scopes=None)[1]


@UNLIMITED
@rest_schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@pytest.mark.django_db
def test_the_rest_api_never_answers_5xx(case: Any, api_key: str) -> None:
    response = case.call(headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])

"""Helpers shared by the API key and REST API tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.core.permissions import TOKEN_SCOPES
from accounts.models import Membership, Project
from apikeys.models import ApiKey
from apikeys.services import apikey_create
from tests.factories import principal_for

ALL_SCOPES = [scope.value for scope in TOKEN_SCOPES]


def make_key(
    membership: Membership,
    *,
    scopes: Iterable[str] | None = None,
    project: Project | None = None,
    expires_at: datetime | None = None,
    name: str = "CI",
) -> tuple[ApiKey, str]:
    """A key made the way the dashboard makes it; scopes default to all the member's role allows."""
    principal = principal_for(membership)
    if scopes is None:
        scopes = [scope.value for scope in TOKEN_SCOPES if principal.can(scope)]
    return apikey_create(
        principal=principal, name=name, scopes=scopes, project=project, expires_at=expires_at
    )


def bearer(plaintext: str) -> dict[str, str]:
    """Django test client kwargs for an Authorization header."""
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def reload(key: ApiKey) -> ApiKey:
    return ApiKey.objects.for_org(key.organization).get(pk=key.pk)


class Clock:
    """`django.utils.timezone.now`, frozen and moved by hand: expiry and overlaps without sleeping."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

"""A JSON client for REST API tests: one key as the bearer token."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client


class Api:
    """A JSON client that sends one key as a bearer token."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __call__(self, method: str, path: str, key: str | None, data: Any = None, **extra: Any) -> Any:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
        kwargs: dict[str, Any] = {**headers, **extra}
        if data is not None and method.lower() in ("post", "patch", "put"):
            kwargs.update(data=json.dumps(data), content_type="application/json")
        elif data is not None:
            kwargs["data"] = data
        return getattr(self.client, method.lower())(path, **kwargs)

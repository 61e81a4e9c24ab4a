"""Settings read from the environment, checked in a fresh interpreter (Django reads them once)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.servers import ROOT

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 50,
    "PUBLIC_URL": "https://gatehouse.example.com",
    "EMAIL_URL": "consolemail://",
}


def _access_log_on(**environment: str) -> bool:
    """Whether uvicorn would log each request: it checks `hasHandlers()` of its access logger."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCESS_LOG", "DJANGO_SETTINGS"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **environment)
    code = "import django, logging; django.setup(); print(logging.getLogger('uvicorn.access').hasHandlers())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip() == "True"


@pytest.mark.parametrize(
    ("environment", "on"),
    [
        ({**PRODUCTION}, False),
        ({**PRODUCTION, "ACCESS_LOG": "1"}, True),
        ({"DEBUG": "1"}, True),
        ({"DEBUG": "1", "ACCESS_LOG": "0"}, False),
    ],
)
def test_the_access_log_is_off_in_production_unless_asked_for(environment: dict[str, str], on: bool) -> None:
    assert _access_log_on(**environment) is on

"""The application's own source files, for tests that check the code base as a whole."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPLICATION = ("accounts", "apikeys", "mcpserver", "config")


def application_modules() -> dict[str, Path]:
    """Dotted module name -> file, for every application module (migrations are schema history)."""
    modules = {}
    for package in APPLICATION:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules

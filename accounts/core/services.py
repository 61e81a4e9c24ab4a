"""Helpers shared by every domain's services."""

from __future__ import annotations

from typing import Any


def validated_save(instance: Any, *, exclude: list[str] | None = None) -> None:
    """Validate (`full_clean`) and save: a service never writes a row its model would refuse."""
    instance.full_clean(exclude=exclude)
    instance.save()

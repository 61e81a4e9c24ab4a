"""Helpers shared by every domain's services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def validated_save(instance: Any, *, exclude: list[str] | None = None) -> None:
    """Validate (`full_clean`) and save: a service never writes a row its model would refuse."""
    instance.full_clean(exclude=exclude)
    instance.save()


@dataclass(frozen=True)
class Updated(Generic[T]):
    """What an edit service did: the object as it is now, and whether anything changed (and was saved)."""

    object: T
    changed: bool

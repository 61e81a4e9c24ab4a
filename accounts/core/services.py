"""Helpers shared by every domain's services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from accounts.core.ids import PublicIdField

T = TypeVar("T")


def validated_save(instance: Any, *, exclude: list[str] | None = None) -> None:
    """Validate (as `full_clean` does) and save: a service never writes a row its model would refuse.

    Without the queries that cannot fail: a foreign key set from a loaded object (the service just
    read or locked it) is not looked up again, and a public id the save is about to generate is not
    checked for uniqueness while still empty (five queries of six when creating a document).
    Uniqueness and constraints over those foreign keys are still checked.
    """
    excluded = set(exclude or ())
    generated = {
        field.name
        for field in instance._meta.concrete_fields
        if isinstance(field, PublicIdField) and not getattr(instance, field.attname)
    }
    loaded = {
        field.name
        for field in instance._meta.concrete_fields
        if field.is_relation and field.is_cached(instance) and getattr(instance, field.name) is not None
    }
    errors: dict[str, Any] = {}
    for check, skip in (
        (instance.clean_fields, excluded | generated | loaded),
        (lambda exclude: instance.clean(), set()),
        (instance.validate_unique, excluded | generated),
        (instance.validate_constraints, excluded | generated),
    ):
        try:
            check(exclude=skip | {name for name in errors if name != NON_FIELD_ERRORS})
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
    instance.save()


@dataclass(frozen=True)
class Updated(Generic[T]):
    """What an edit service did: the object as it is now, and whether anything changed (and was saved)."""

    object: T
    changed: bool

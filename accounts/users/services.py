"""Writes about people: creating an account."""

from __future__ import annotations

from django.db import transaction

from accounts.core.services import validated_save
from accounts.users.models import User


@transaction.atomic
def user_create(*, email: str, password: str, name: str = "") -> User:
    """Create a person who signs in with email and password."""
    user = User(email=User.objects.normalize_email(email).lower(), name=name.strip())
    user.set_password(password)
    validated_save(user, exclude=["password"])
    return user

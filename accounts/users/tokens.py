"""One-time links for an account: confirming its email address (password resets use Django's own)."""

from __future__ import annotations

from django.contrib.auth.tokens import PasswordResetTokenGenerator

from accounts.users.models import User


class EmailConfirmationTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset-token scheme under its own salt: valid for PASSWORD_RESET_TIMEOUT, for one address.

    The hash covers the address and whether it is confirmed, so a link stops working once used or
    once the account's email changes.
    """

    key_salt = "accounts.users.tokens.EmailConfirmationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:  # type: ignore[override]
        return f"{user.pk}{user.email}{user.email_verified_at}{timestamp}"


email_confirmation_tokens = EmailConfirmationTokenGenerator()

"""Writes about people: signing up, confirming an email address, and what changing a password revokes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from accounts.core.credentials import HeldCredential, credential_issuers
from accounts.core.rls import tenant_scope
from accounts.core.services import validated_save
from accounts.users.models import User
from accounts.users.tokens import email_confirmation_tokens

logger = logging.getLogger(__name__)


@transaction.atomic
def user_create(*, email: str, password: str, name: str = "") -> User:
    """Create a person who signs in with email and password (the address still to be confirmed)."""
    user = User(email=User.objects.normalize_email(email).lower(), name=name.strip())
    user.set_password(password)
    validated_save(user, exclude=["password"])
    return user


@transaction.atomic
def user_sign_up(*, email: str, password: str, name: str = "") -> None:
    """Start an account, answering the same whether or not the address already has one.

    A new address gets an account and a link to confirm it; an address that has an account gets an
    email saying so, with how to sign in or reset the password. The caller shows one "check your
    inbox" page either way, and both take about as long (a password is hashed either way), so the
    sign-up form cannot be used to learn who has an account.
    """
    existing = User.objects.filter(email__iexact=User.objects.normalize_email(email).strip()).first()
    if existing is None:
        user = user_create(email=email, password=password, name=name)
        transaction.on_commit(partial(email_confirmation_send, user=user), robust=True)
        return
    make_password(password)  # the work a new account's hash costs
    transaction.on_commit(partial(_send_account_exists, existing), robust=True)


def email_confirmation_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = email_confirmation_tokens.make_token(user)
    return settings.PUBLIC_URL + reverse(
        "accounts:email_confirm_link", kwargs={"uidb64": uid, "token": token}
    )


def email_confirmation_send(*, user: User) -> None:
    """Mail the person a link that confirms their address (a new one each time; each stays valid)."""
    context = {"user": user, "link": email_confirmation_link(user), "public_url": settings.PUBLIC_URL}
    _send(user, _("Confirm your email address for Gatehouse"), "accounts/email/confirm_email.txt", context)


def _send_account_exists(user: User) -> None:
    context = {
        "user": user,
        "login_url": settings.PUBLIC_URL + reverse("accounts:login"),
        "reset_url": settings.PUBLIC_URL + reverse("accounts:password_reset"),
        # An account never confirmed: the link it did not use, again.
        "confirm_url": email_confirmation_link(user) if not user.email_verified else "",
    }
    _send(user, _("You already have a Gatehouse account"), "accounts/email/account_exists.txt", context)


def _send(user: User, subject: str, template: str, context: dict[str, object]) -> None:
    try:
        send_mail(subject, render_to_string(template, context), None, [user.email])
    except Exception:
        # Logged without the message (it may hold a link); the person can ask for another one.
        logger.exception("could not send %s to user %s", template, user.public_id)


@transaction.atomic
def email_confirm(*, user: User, token: str) -> bool:
    """Mark the address confirmed if the link is valid; False for a used, expired or forged link."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not email_confirmation_tokens.check_token(user, token):
        return False
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email_verified_at"])
    return True


@dataclass(frozen=True)
class PasswordChanged:
    """What a password change revoked, and which credentials still act for the person."""

    revoked: dict[str, int]
    still_active: list[HeldCredential]


def password_changed(
    *, user: User, revoke_api_keys: bool, ip: str | None, user_agent: str, reset: bool
) -> PasswordChanged:
    """After a password change or reset: revoke the person's OAuth connections (and, if asked, their
    API keys) in every organization, audited there, then email them what still acts for them.

    Sessions need nothing here: Django signs every other session out when the password changes.
    """
    revoked: dict[str, int] = {}
    # A reset comes from someone not signed in: the person's own scope, every organization they are in.
    with tenant_scope(user_id=user.pk), transaction.atomic():
        for name, issuer in credential_issuers().items():
            if name == "api_keys" and not revoke_api_keys:
                continue
            reason = "password_reset" if reset else "password_changed"
            revoked[name] = issuer.revoke_for_user(user=user, reason=reason, ip=ip, user_agent=user_agent)
        still_active = [
            held for issuer in credential_issuers().values() for held in issuer.active_for_user(user=user)
        ]
        result = PasswordChanged(revoked=revoked, still_active=still_active)
        context = {"user": user, "result": result, "reset": reset, "public_url": settings.PUBLIC_URL}
        transaction.on_commit(
            partial(
                _send,
                user,
                _("Your Gatehouse password was changed"),
                "accounts/email/password_changed.txt",
                context,
            ),
            robust=True,
        )
    return result

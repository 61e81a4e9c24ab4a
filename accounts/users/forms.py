"""Sign-up and sign-in forms, and how django-axes names the account an attempt is for."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.users.models import User


class SignupForm(auth_forms.BaseUserCreationForm):
    name = forms.CharField(label=_("Your name"), max_length=150, required=False)

    class Meta:
        model = User
        fields = ("email", "name")
        labels = {"email": _("Work email")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update(autocomplete="email", autofocus=True)
        self.fields["name"].widget.attrs.update(autocomplete="name")

    def clean_email(self) -> str:
        return User.objects.normalize_email(self.cleaned_data["email"]).lower()

    def validate_unique(self) -> None:
        # Whether the address has an account is not this form's to say (user_sign_up answers alike).
        pass


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The account a sign-in attempt is for, as django-axes counts failures: the email, lower-cased."""
    source = credentials if credentials is not None else request.POST
    return str(source.get("username") or "").strip().lower()


class RevokeKeysMixin(forms.Form):
    """The offer, when a password changes, to revoke the person's API keys too (OAuth apps always are)."""

    revoke_api_keys = forms.BooleanField(
        label=_("Also revoke my API keys"),
        required=False,
        help_text=_(
            "Every app you connected with OAuth is disconnected either way. Tick this if a key may have "
            "been exposed with your password: every API key you created stops working at once."
        ),
    )


class PasswordChangeForm(RevokeKeysMixin, auth_forms.PasswordChangeForm):
    pass


class SetPasswordForm(RevokeKeysMixin, auth_forms.SetPasswordForm):
    pass


class LoginForm(auth_forms.AuthenticationForm):
    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": _("That email and password do not match an account. Check both and try again."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Email")
        self.fields["username"].widget = forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
        if self.is_bound and self.data.get("username"):
            # After a failed attempt the email is kept: the cursor goes where the mistake usually is.
            del self.fields["username"].widget.attrs["autofocus"]
            self.fields["password"].widget.attrs["autofocus"] = True

"""Sign up (with a confirmed email address), sign in and out, password change and reset."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlencode, urlsafe_base64_decode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import FormView, TemplateView

from accounts.core.ratelimit import hit, ip_key
from accounts.core.web import client_ip, signed_in_user, user_agent
from accounts.users.forms import LoginForm, PasswordChangeForm, SetPasswordForm, SignupForm
from accounts.users.models import User
from accounts.users.services import email_confirm, email_confirmation_send, password_changed, user_sign_up
from accounts.users.tokens import email_confirmation_tokens

# Kept in the session between sign-up and the confirmation link (same browser): where to go next.
SIGNUP_SESSION_KEY = "_signup"
# The confirmation link's token, moved out of the address bar at once (as Django does for resets).
CONFIRMATION_SESSION_KEY = "_email_confirmation_token"


def _safe_next(request: HttpRequest, target: str | None = None) -> str | None:
    target = target or request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


class SignupView(FormView):
    template_name = "accounts/signup.html"
    form_class = SignupForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            return redirect(_safe_next(request) or "accounts:home")
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        return {"email": self.request.GET.get("email", "")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(next=_safe_next(self.request), **kwargs)

    def form_valid(self, form: SignupForm) -> HttpResponse:
        if hit(scope="signup", key=ip_key(self.request), rate=settings.SIGNUP_RATE):
            form.add_error(None, _("Too many sign-ups from your network. Try again in a while."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        email = form.cleaned_data["email"]
        user_sign_up(
            email=email, password=form.cleaned_data["password1"], name=form.cleaned_data.get("name", "")
        )
        self.request.session[SIGNUP_SESSION_KEY] = {"email": email, "next": _safe_next(self.request) or ""}
        return redirect("accounts:signup_check_email")


class SignupCheckEmailView(TemplateView):
    """The same page whether the address was new or already had an account."""

    template_name = "accounts/signup_check_email.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        signup = self.request.session.get(SIGNUP_SESSION_KEY) or {}
        return super().get_context_data(email=signup.get("email", ""), **kwargs)


def _user_of(uidb64: str) -> User | None:
    try:
        return User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, OverflowError, User.DoesNotExist):
        return None


@method_decorator(never_cache, name="dispatch")
class EmailConfirmLinkView(View):
    """The emailed link: keep its token in the session, then show a token-free page."""

    http_method_names = ["get"]

    def get(self, request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
        request.session[CONFIRMATION_SESSION_KEY] = token
        return redirect("accounts:email_confirm", uidb64=uidb64)


@method_decorator(never_cache, name="dispatch")
class EmailConfirmView(View):
    """GET: the address to confirm and a button (mail scanners follow links; only a person clicks).
    POST: confirm it."""

    template_name = "accounts/email_confirm.html"

    account: User

    def dispatch(self, request: HttpRequest, *args: Any, uidb64: str, **kwargs: Any) -> HttpResponseBase:
        account = _user_of(uidb64)
        self.token = str(request.session.get(CONFIRMATION_SESSION_KEY, ""))
        if account is None or not email_confirmation_tokens.check_token(account, self.token):
            return render(request, self.template_name, {"valid": False}, status=400)
        self.account = account
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, self.template_name, {"valid": True, "account": self.account})

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request.session.pop(CONFIRMATION_SESSION_KEY, None)
        if not email_confirm(user=self.account, token=self.token):
            return render(request, self.template_name, {"valid": False}, status=400)
        messages.success(
            request, _("Your email address %(email)s is confirmed.") % {"email": self.account.email}
        )
        signup = request.session.pop(SIGNUP_SESSION_KEY, None) or {}
        target = _safe_next(request, signup.get("next"))
        if request.user.is_authenticated and request.user.pk == self.account.pk:
            return redirect(target or "accounts:home")
        query = {"email": self.account.email, **({"next": target} if target else {})}
        return HttpResponseRedirect(reverse("accounts:login") + "?" + urlencode(query))


class EmailConfirmResendView(LoginRequiredMixin, View):
    """POST: mail the signed-in person a new confirmation link."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = signed_in_user(request)
        if user.email_verified:
            messages.info(request, _("Your email address is already confirmed."))
        elif hit(scope="email-confirmation", key=str(user.pk), rate=settings.EMAIL_CONFIRMATION_RATE):
            messages.warning(request, _("A link was sent just now. Check your inbox, or try again later."))
        else:
            email_confirmation_send(user=user)
            messages.success(request, _("We sent a new link to %(email)s.") % {"email": user.email})
        return HttpResponseRedirect(_safe_next(request) or reverse("accounts:home"))


class LoginView(auth_views.LoginView):
    """Sign in. django-axes locks an account out (per address and network) after repeated failures;
    failures across many accounts from one network (password spraying) pause that network too."""

    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if hit(scope="login-failures", key=ip_key(request), rate=settings.LOGIN_FAILURE_IP_RATE, count=False):
            return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        if self.request.method == "POST":
            hit(scope="login-failures", key=ip_key(self.request), rate=settings.LOGIN_FAILURE_IP_RATE)
        return super().form_invalid(form)

    def get_initial(self) -> dict[str, Any]:
        return {**super().get_initial(), "username": self.request.GET.get("email", "")}


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        # The session is gone; the message travels in the messages cookie to the sign-in page.
        messages.info(request, _("You are signed out."))
        return response


def _password_changed(
    request: HttpRequest, form: PasswordChangeForm | SetPasswordForm, *, reset: bool
) -> None:
    result = password_changed(
        user=form.user,
        revoke_api_keys=bool(form.cleaned_data.get("revoke_api_keys")),
        ip=client_ip(request),
        user_agent=user_agent(request),
        reset=reset,
    )
    disconnected = sum(result.revoked.values())
    if disconnected:
        messages.info(
            request,
            ngettext(
                "%(count)d connected app or key was revoked; we emailed you what still works.",
                "%(count)d connected apps and keys were revoked; we emailed you what still works.",
                disconnected,
            )
            % {"count": disconnected},
        )


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change the password: other sessions are signed out (Django) and OAuth apps disconnected."""

    template_name = "accounts/password_change.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("accounts:home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        _password_changed(self.request, form, reset=False)
        messages.success(self.request, _("Your password was changed. Your other sessions are signed out."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    extra_email_context = {"public_url": settings.PUBLIC_URL}

    def form_valid(self, form: Any) -> HttpResponse:
        # Per address and per network: limits mail bombing and guessing alike, and says nothing
        # about whether the address has an account.
        email = str(form.cleaned_data["email"]).strip().lower()
        by_email = hit(scope="password-reset-email", key=email, rate=settings.PASSWORD_RESET_RATE)
        by_ip = hit(scope="password-reset-ip", key=ip_key(self.request), rate=settings.PASSWORD_RESET_IP_RATE)
        if by_email or by_ip:
            form.add_error(None, _("Too many reset requests. Try again in a while."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choose a new password: every session is signed out (Django) and OAuth apps disconnected."""

    template_name = "accounts/password_reset_confirm.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        _password_changed(self.request, form, reset=True)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"

"""URLs of signing up, in and out, and passwords; included in the `accounts` namespace (accounts/urls.py)."""

from django.urls import path

from accounts.users import views

urlpatterns = [
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("signup/check-email/", views.SignupCheckEmailView.as_view(), name="signup_check_email"),
    path("account/confirm-email/", views.EmailConfirmResendView.as_view(), name="email_confirm_resend"),
    # Before the token pattern, which "confirm" would match. The emailed link redirects to it.
    path("account/confirm-email/<uidb64>/confirm/", views.EmailConfirmView.as_view(), name="email_confirm"),
    path(
        "account/confirm-email/<uidb64>/<token>/",
        views.EmailConfirmLinkView.as_view(),
        name="email_confirm_link",
    ),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]

"""Secrets in one place: how they are digested for storage, and what they look like in URLs and logs.

Shared by the URL guard (apikeys/middleware.py, which refuses a credential in a URL) and the log filter
(accounts/logging.py, which redacts whatever slipped through), so the two cannot drift apart.
"""

from __future__ import annotations

import hashlib
import re


def token_digest(token: str) -> str:
    """What is stored and looked up for a secret (API key, invitation token): its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


# Prefixes of Gatehouse bearer secrets: sk- API keys, wat_/wrt_ OAuth access and refresh tokens. The
# prefix says what a secret is without a query (the bearer resolver dispatches on it) and lets secret
# scanners and this module's patterns find one in a log line.
API_KEY_PREFIX = "sk-"
ACCESS_TOKEN_PREFIX = "wat_"  # noqa: S105 - a prefix, not a secret
REFRESH_TOKEN_PREFIX = "wrt_"  # noqa: S105
SECRET_PREFIXES = (API_KEY_PREFIX, ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX)
# Anything shaped like one of them. An sk- key's body has no hyphen, so a slug such as "sk-learn-notes"
# is not mistaken for one.
SECRET_VALUE = re.compile(
    r"\b(?P<prefix>sk-|wat_|wrt_)(?:(?<=sk-)[0-9A-Za-z]{40,}|(?<=_)[A-Za-z0-9_\-]{20,})"
)
# Query parameters that carry a credential: refused in any URL. Gatehouse never asks for one there;
# OAuth's client secret and PKCE verifier belong in a POST body (RFC 6749 §2.3.1, RFC 7636 §4.5).
CREDENTIAL_PARAMETERS = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "refresh_token",
        "client_secret",
        "code_verifier",
        "client_assertion",
        "password",
    }
)
# Also secret, but legitimately in some URLs (an OAuth redirect's `code`): redacted from logs only.
LOGGED_SECRET_PARAMETERS = CREDENTIAL_PARAMETERS | {"code", "registration_access_token"}
# Links whose path carries a secret, each followed by the token-free page it redirects to: an
# invitation (`/invitations/<token>/` → `accept/`), a password reset and an email confirmation
# (`/…/<uidb64>/<token>/` → `set-password/` or `confirm/`).
SECRET_PATH = re.compile(
    r"(?P<path>/invitations/)(?!accept/)[A-Za-z0-9_\-]{20,}"
    r"|(?P<link>/(?:password-reset|account/confirm-email)/[A-Za-z0-9_\-]+/)(?!set-password/|confirm/)"
    r"[A-Za-z0-9_\-]{10,}"
)

_PARAMETER_NAMES = "|".join(sorted(map(re.escape, LOGGED_SECRET_PARAMETERS)))
# What the log filter redacts: bearer headers, secret-shaped values, secret parameters, secret links.
LOG_SECRET = re.compile(
    r"(?P<bearer>(?i:bearer)\s+)\S+"
    rf"|{SECRET_VALUE.pattern}"
    rf"|(?P<param>[?&](?i:{_PARAMETER_NAMES})=)[^&\s\"']+"
    rf"|{SECRET_PATH.pattern}"
)

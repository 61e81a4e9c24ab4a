"""Gatehouse settings, read from environment variables with safe development defaults.

Production sets at least SECRET_KEY, DEBUG=0, ALLOWED_HOSTS, PUBLIC_URL and DATABASE_URL;
`manage.py check --deploy` then reports nothing.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from config.catalogs import compile_catalogs

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str(
    "SECRET_KEY",
    default="django-insecure-development-only-key-change-me-in-production" if DEBUG else environ.Env.NOTSET,
)

# The external origin (scheme://host[:port], no path): OAuth issuer and the MCP resource is PUBLIC_URL/mcp.
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
_public = urlsplit(PUBLIC_URL)
if _public.path or _public.query or not _public.scheme or not _public.hostname:
    raise environ.ImproperlyConfigured("PUBLIC_URL must be an origin such as https://gatehouse.example.com")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [_public.hostname]
)
if _public.hostname not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_public.hostname)
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "corsheaders",
    "axes",
    "accounts",
    "apikeys",
    "mcpserver",
]

MIDDLEWARE = [
    # First: a key in a URL (or a NUL character anywhere) is refused before anything else sees the request.
    "accounts.core.urlguard.UrlGuardMiddleware",
    # A view that finds the database unreachable answers 503 (JSON for API and OAuth clients, a page
    # for people) instead of Django's 500 (accounts/core/outage.py).
    "accounts.core.outage.DatabaseUnavailableMiddleware",
    # Answers CORS preflights for the OAuth endpoints only (CORS_URLS_REGEX).
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's, answering 503 when the session cannot be saved in an outage (accounts/core/outage.py).
    "accounts.core.outage.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # PostgreSQL: the rest of the request in one transaction, scoped for row-level security to the
    # signed-in person and then to the page's or token's organization (accounts/core/rls.py).
    "accounts.core.rls.TenantScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every page (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Last, so that a locked-out sign-in is answered before any view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.orgs.context_processors.navigation",
            ],
        },
    },
]

ASGI_APPLICATION = "config.asgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, plus the tenant scope of row-level security on every transaction.
    DATABASES["default"]["ENGINE"] = "accounts.core.postgresql"
    # A server that drops packets (not refuses them) must not hang a request: give up after 5 s,
    # then the outage answers apply (accounts/core/outage.py). A DATABASE_URL may set its own.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets pages read while another request writes; wait on a busy database instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# PostgreSQL row-level security (accounts/core/rls.py, docs/operations.md). In production DATABASE_URL
# logs in as an application role that owns no table; DATABASE_OWNER_URL (the tables' owner) is used
# only by migrations and the commands that must span organizations, each use audited
# (accounts/audit/owner_access.py). DATABASE_APP_ROLE instead makes every tenant scope run as that role
# (SET LOCAL ROLE) while logged in as the owner: the test suite's way, weaker (the login can reset it).
DATABASE_OWNER_URL = env.str("DATABASE_OWNER_URL", default="")
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="")

# Redis only shares what each process could keep itself: rate-limit counts (accounts/core/ratelimit.py,
# which counts per process while Redis is down) and the cache (DOT's client-metadata back-off). A
# Redis outage must never fail a request: cache errors are logged and read as misses, and a Redis
# that does not answer is given up on after half a second.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sign-in throttle: five failures for one email from one address lock that pair out for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
# Count "Ann@X.com" and "ann@x.com" as one account, or case variants would dodge the lockout.
AXES_USERNAME_CALLABLE = "accounts.users.forms.lockout_username"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0)
# Failed sign-ins from one address, whatever the account (password spraying): then it waits.
LOGIN_FAILURE_IP_RATE = env.str("LOGIN_FAILURE_IP_RATE", default="30/h")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English and Russian catalogs, compiled in pure Python (Babel) when a .po changed: no GNU gettext needed.
compile_catalogs(LOCALE_PATHS[0])
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Mail carries invitation, confirmation and reset links: secrets. EMAIL_URL names the mail server
# (smtp+tls://user:password@host:587, smtps://…; or consolemail://, filemail:///dir on purpose);
# EMAIL_BACKEND (+ EMAIL_FILE_PATH) still works. Development prints mail to the console; production
# refuses to start without one of them, rather than print secret links to its logs.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif env.str("EMAIL_BACKEND", default=""):
    EMAIL_BACKEND = env.str("EMAIL_BACKEND")
    # For django.core.mail.backends.filebased.EmailBackend: one file per message, here.
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    raise environ.ImproperlyConfigured(
        "Set EMAIL_URL to your mail server (e.g. smtp+tls://user:password@smtp.example.com:587): "
        "with DEBUG=0 Gatehouse will not print invitation and reset links to the console. To do so "
        "anyway, say it explicitly: EMAIL_URL=consolemail://"
    )
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Gatehouse <no-reply@gatehouse.local>")
# Sign-up, confirmation and reset mail, per client IP or address. Every rate in these settings is
# "<count>/<period>": 10/h, 300/min, 5/sec, 100/day, 10/5m (accounts/core/ratelimit.py, checked at startup).
SIGNUP_RATE = env.str("SIGNUP_RATE", default="10/h")
EMAIL_CONFIRMATION_RATE = env.str("EMAIL_CONFIRMATION_RATE", default="5/h")
PASSWORD_RESET_RATE = env.str("PASSWORD_RESET_RATE", default="5/h")
PASSWORD_RESET_IP_RATE = env.str("PASSWORD_RESET_IP_RATE", default="20/h")

# Security headers. Behind a TLS-terminating proxy set SECURE_PROXY=1 so request.is_secure() is right.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Every script, style, image and font is our own (no CDN, no inline script): a page can run nothing
# else. No form-action: the consent page's Allow ends in a redirect to the app's own URI.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env.bool("SECURE_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "accounts.core.redaction.RedactSecretsFilter"},
        "quiet_client_errors": {"()": "accounts.core.quiet.QuietClientErrorsFilter"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's default console handler would print django.* lines a second time, unredacted:
        # send them through the project's handler only.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # Loggers that print URLs or requests redact on the logger itself, before any handler (pytest's
        # caplog included) sees the record. uvicorn's access log prints query strings: its own
        # handlers are replaced so that its lines, too, go through the console handler above.
        # A 4xx is one line, without its traceback (a 403 would otherwise print one).
        "django.request": {"filters": ["redact_secrets", "quiet_client_errors"]},
        "django.server": {"filters": ["redact_secrets"], "handlers": [], "propagate": True},
        "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
        "uvicorn.error": {"filters": ["redact_secrets"], "handlers": [], "level": "INFO", "propagate": True},
        # One line per request costs ~5% of an MCP call's time: on in development, off in production
        # (the proxy in front keeps one) unless ACCESS_LOG=1. Set here, since LOGGING is applied after
        # uvicorn's own --access-log/--no-access-log would have been.
        "uvicorn.access": {
            "filters": ["redact_secrets"],
            "handlers": [],
            "level": "INFO",
            "propagate": env.bool("ACCESS_LOG", default=DEBUG),
        },
        # The MCP SDK logs every stateless request ("Terminating session: None") at INFO.
        "mcp": {"level": "WARNING"},
    },
}

# Organization roles and the audit log.
AUDIT_EXPORT_MAX_ROWS = env.int("AUDIT_EXPORT_MAX_ROWS", default=100_000)
# The key of the audit hash chain and its checkpoints (accounts/audit/chain.py). Never in the database;
# set it in production (derived from SECRET_KEY otherwise, so rotating SECRET_KEY would orphan it).
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default="")
# Signed checkpoints of every chain head, outside the database; copy them off the host (docs/security.md).
AUDIT_CHECKPOINT_DIR = Path(env.str("AUDIT_CHECKPOINT_DIR", default=str(BASE_DIR / "var" / "audit")))
AUDIT_CHECKPOINT_INTERVAL = env.int("AUDIT_CHECKPOINT_INTERVAL", default=300)
INVITATION_TTL_DAYS = 7

# django-oauth-toolkit: the swapped models live in `accounts` (all five in one app, decided before
# migration 0001). Gatehouse is the OAuth 2.1 authorization server of its own MCP endpoint
# (docs/oauth.md): issuer PUBLIC_URL, resource PUBLIC_URL/mcp, PKCE S256 only, hashed tokens.
OAUTH2_PROVIDER_APPLICATION_MODEL = "accounts.OAuthApplication"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "accounts.OAuthAccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "accounts.OAuthRefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "accounts.OAuthIDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "accounts.OAuthGrant"
OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "accounts.oauth.validators.GatehouseOAuth2Validator",
    "OAUTH2_SERVER_CLASS": "accounts.oauth.validators.GatehouseServer",
    "SCOPES_BACKEND_CLASS": "accounts.oauth.validators.TokenScopes",
    "ACCESS_TOKEN_GENERATOR": "accounts.oauth.tokens.access_token_generator",
    "REFRESH_TOKEN_GENERATOR": "accounts.oauth.tokens.refresh_token_generator",
    # One issuer string everywhere: RFC 8414 metadata, the RFC 9207 `iss` and the MCP metadata.
    "OIDC_ISS_ENDPOINT": PUBLIC_URL,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    # RFC 7592 registration access tokens (managing a dynamic registration): DOT's default is never.
    "DCR_REGISTRATION_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_DCR_TOKEN_SECONDS", default=30 * 24 * 3600),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    # DOT's own grace period must stay 0 with hashed storage (oauth2_provider.E001); the retry
    # window below is Gatehouse's replacement (accounts/oauth_validators.py, docs/oauth.md).
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    # http is allowed for loopback redirects only: OAuthApplication.clean() refuses other http hosts.
    "ALLOWED_REDIRECT_URI_SCHEMES": [
        "https",
        "http",
        *env.list("OAUTH_REDIRECT_URI_SCHEMES", default=["cursor", "vscode", "vscode-insiders", "windsurf"]),
    ],
    "ALLOW_LOCALHOST_LOOPBACK": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    "DCR_ENABLED": True,
    "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
    "CIMD_ENABLED": env.bool("OAUTH_CIMD_ENABLED", default=True),
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["none", "client_secret_basic", "client_secret_post"],
}
# W008 flags `http` in ALLOWED_REDIRECT_URI_SCHEMES; it is there for loopback redirects of native MCP
# clients (RFC 8252) only, and OAuthApplication.clean() refuses every other http host.
SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "oauth2_provider.W008"]
# A refresh token retried this soon after its rotation (a lost response, two windows of one client)
# gets a fresh pair instead of revoking the whole family.
OAUTH_REFRESH_RETRY_SECONDS = env.int("OAUTH_REFRESH_RETRY_SECONDS", default=30)
# Anonymous dynamic client registration, per client IP.
OAUTH_DCR_RATE = env.str("OAUTH_DCR_RATE", default="20/h")
# Token requests (code exchanges and refreshes), per grant presented (a code, a refresh token): one
# connection's refreshes never spend another's. Refused token requests, per client IP.
OAUTH_TOKEN_RATE = env.str("OAUTH_TOKEN_RATE", default="60/m")
OAUTH_TOKEN_FAILURE_RATE = env.str("OAUTH_TOKEN_FAILURE_RATE", default="60/m")
# Resource servers (client ids) allowed to introspect any token (RFC 7662); every other client may
# introspect only the tokens issued to it.
OAUTH_INTROSPECTION_CLIENTS = env.list("OAUTH_INTROSPECTION_CLIENTS", default=[])
# `manage.py oauth_clear_unused` removes registered apps never used for this many days.
OAUTH_UNUSED_CLIENT_DAYS = env.int("OAUTH_UNUSED_CLIENT_DAYS", default=30)

# CORS, for browser-based MCP clients: only the credential-less OAuth endpoints, never with cookies.
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_URLS_REGEX = (
    r"^/(\.well-known/oauth-authorization-server(/.*)?|oauth/(token|register|revoke|introspect)/)$"
)

# The MCP endpoint (mcpserver/, routed by config/asgi.py around Django). Its Host header is checked
# against ALLOWED_HOSTS like Django's own views; browser Origins must be PUBLIC_URL, another allowed
# host with PUBLIC_URL's scheme, or listed in MCP_ALLOWED_ORIGINS. Rates per credential and per
# organization, counted by accounts/core/ratelimit.py (in Redis when REDIS_URL is set: shared).
MCP_RESOURCE_URL = f"{PUBLIC_URL}/mcp"
MCP_MAX_BODY_BYTES = env.int("MCP_MAX_BODY_BYTES", default=2 * 1024 * 1024)
MCP_RATE_LIMIT_PER_CREDENTIAL = env.str("MCP_RATE_LIMIT_PER_CREDENTIAL", default="300/min")
MCP_RATE_LIMIT_PER_ORG = env.str("MCP_RATE_LIMIT_PER_ORG", default="1200/min")
MCP_ALLOWED_ORIGINS = [PUBLIC_URL, *env.list("MCP_ALLOWED_ORIGINS", default=[])]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "accounts.core.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Per API key (accounts/api/throttling.py), counted like every other rate limit (accounts/core/ratelimit.py).
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/min")

SPECTACULAR_SETTINGS = {
    "TITLE": "Gatehouse REST API",
    "DESCRIPTION": "Projects, documents, members and the audit log of one organization, with an API key "
    "(`Authorization: Bearer sk-…`). Guide: docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs pages load Swagger UI and Redoc from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "displayOperationId": False},
    "TAGS": [
        {"name": "key", "description": "The API key making the request."},
        {"name": "projects"},
        {"name": "documents"},
        {"name": "members"},
        {"name": "audit"},
    ],
}

"""Test settings: the real settings, with a fast password hasher and mail kept in memory."""

import tempfile
from pathlib import Path

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
WHITENOISE_AUTOREFRESH = True  # serve from the finders; tests never run collectstatic
# Audit checkpoints of the test run's throwaway organizations: never into the checkout's var/.
AUDIT_CHECKPOINT_DIR = Path(tempfile.mkdtemp(prefix="gatehouse-audit-"))
if DATABASES["default"]["ENGINE"] == "accounts.core.postgresql":  # noqa: F405
    # The test runner empties tables with TRUNCATE between tests; the audit log's guard refuses that
    # unless the session allows it (migration 0004). tests/security re-checks it with this off.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c gatehouse.allow_audit_truncate=on"  # noqa: F405

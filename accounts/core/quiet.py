"""Console logging that a newcomer can read: a refused request is one line, not a traceback."""

from __future__ import annotations

import logging


class QuietClientErrorsFilter(logging.Filter):
    """django.request logs every 4xx (a 403 from PermissionDenied, a 404) with the exception's traceback,
    burying the invitation and reset mail that development prints to the same console. A client error
    is not a bug in the server: keep its one line, drop the traceback. 5xx keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True

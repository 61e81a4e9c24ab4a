"""Keep secrets out of log lines, whatever code logged them."""

import logging
import re
from urllib.parse import unquote

from accounts.core.secrecy import LOG_SECRET

# The part of each match that stays readable: "Bearer ", "sk-", "?api_key=", "/invitations/".
_KEPT = ("bearer", "prefix", "param", "path", "link")
# A URL may carry a secret percent-encoded (`%3Dsk-…`, `sk%2D…`), once or more.
_MAX_DECODING = 3


def _replace(match: re.Match[str]) -> str:
    kept = next((match.group(name) for name in _KEPT if match.group(name)), "")
    return f"{kept}[REDACTED]"


def redact(text: str) -> str:
    """The text with every secret (keys, tokens, secret parameters, secret links) replaced.

    A line with percent-encoding is also read decoded: if that shows a secret the raw line hid, the
    decoded line is returned, redacted (it reads the same to a person).
    """
    redacted = LOG_SECRET.sub(_replace, text)
    decoded = redacted
    for _ in range(_MAX_DECODING):
        if "%" not in decoded:
            break
        decoded = unquote(decoded)
        cleaned = LOG_SECRET.sub(_replace, decoded)
        if cleaned != decoded:
            return redact(cleaned)
    return redacted


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        # A traceback can quote a secret too (an exception message, a URL): format it now, redacted,
        # where Formatter.format() will reuse it instead of formatting it again.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True

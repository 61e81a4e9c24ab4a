"""Keep secrets out of log lines, whatever code logged them."""

import logging
import re

from accounts.core.secrecy import LOG_SECRET

# The part of each match that stays readable: "Bearer ", "sk-", "?api_key=", "/invitations/".
_KEPT = ("bearer", "prefix", "param", "invitation")


def redact(text: str) -> str:
    """The text with every secret (keys, tokens, secret parameters, invitation links) replaced."""

    def replace(match: re.Match[str]) -> str:
        kept = next((match.group(name) for name in _KEPT if match.group(name)), "")
        return f"{kept}[REDACTED]"

    return LOG_SECRET.sub(replace, text)


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

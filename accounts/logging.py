"""Keep secrets out of log lines, whatever code logged them."""

import logging
import re

# sk-… API keys, wat_/wrt_ OAuth tokens, bearer headers, and secrets passed as query parameters.
SECRET_PATTERN = re.compile(
    r"(?P<bearer>(?i:bearer)\s+)\S+"
    r"|\b(?P<prefix>sk-|wat_|wrt_)[A-Za-z0-9_\-]{8,}"
    r"|(?P<param>[?&](?i:api_key|apikey|key|token|access_token|refresh_token|code|password)=)[^&\s\"']+"
)


def redact(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        kept = match.group("bearer") or match.group("prefix") or match.group("param") or ""
        return f"{kept}[REDACTED]"

    return SECRET_PATTERN.sub(replace, text)


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

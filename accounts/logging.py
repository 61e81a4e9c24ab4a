"""Keep secrets out of log lines, whatever code logged them."""

import logging
import re

# sk-… API keys, wat_/wrt_ OAuth tokens, bearer headers, and secrets passed as query parameters.
SECRET_PATTERN = re.compile(
    r"(?P<bearer>(?i:bearer)\s+)\S+"
    r"|\b(?P<prefix>sk-|wat_|wrt_)[A-Za-z0-9_\-]{8,}"
    r"|(?P<param>[?&](?i:api_key|key|token|access_token|refresh_token|code|password)=)[^&\s\"']+"
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
        return True

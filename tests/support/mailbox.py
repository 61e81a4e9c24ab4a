"""The mail a live server sent, read back from Django's file-based email backend.

The server runs with `EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend` and
`EMAIL_FILE_PATH=<directory>` (tests/support/live.py): each connection writes one file holding its
messages, separated by a line of 79 dashes.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from pathlib import Path

SEPARATOR = "\n" + "-" * 79 + "\n"


class Mailbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def files(self) -> set[Path]:
        return set(self.directory.glob("*.log"))

    def wait_for(self, *, to: str, since: set[Path], timeout: float = 15) -> EmailMessage:
        """The newest message to `to` in a file that was not there at `since` (`files()` before the action
        that sends it); polls for up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                message
                for path in sorted(self.files() - since, key=lambda p: p.stat().st_mtime_ns, reverse=True)
                for message in reversed(self._messages(path))
                if to.lower() in str(message["To"]).lower()
            ]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {to} within {timeout}s in {self.directory}")
            time.sleep(0.1)

    @staticmethod
    def _messages(path: Path) -> list[EmailMessage]:
        raw = path.read_text(errors="replace")
        if not raw.endswith(SEPARATOR):  # still being written: every message ends with the separator
            return []
        return [
            email.message_from_string(part.lstrip("\n"), policy=email.policy.default)  # type: ignore[misc]
            for part in raw.split(SEPARATOR)
            if part.strip()
        ]


def links(message: EmailMessage, base_url: str) -> list[str]:
    """The links to `base_url` in a message's plain-text body, in order."""
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return re.findall(re.escape(base_url) + r"/[^\s<>\"']*", text)

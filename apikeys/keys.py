"""The API key format, as pure functions: `sk-` + 43 base62 chars (256 random bits) + a 6-char checksum.

The checksum is GitHub's idea: CRC32 of the random part, in base62. A mistyped, truncated or made-up
key is refused without touching the database, and secret scanners can tell a real key from noise.
Only `digest()` (SHA-256) and `hint()` are ever stored; the plaintext is shown once and forgotten.
"""

from __future__ import annotations

import re
import secrets
import zlib

from accounts.core.secrecy import API_KEY_PREFIX, token_digest

PREFIX = API_KEY_PREFIX
RANDOM_BYTES = 32  # 256 bits
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_LENGTH = 43  # 62**43 > 2**256
_CHECKSUM_LENGTH = 6  # 62**6 > 2**32
KEY_LENGTH = len(PREFIX) + _BODY_LENGTH + _CHECKSUM_LENGTH
KEY_PATTERN = re.compile(
    rf"{re.escape(PREFIX)}([0-9A-Za-z]{{{_BODY_LENGTH}}})([0-9A-Za-z]{{{_CHECKSUM_LENGTH}}})"
)


def _base62(number: int, width: int) -> str:
    chars = []
    while number:
        number, remainder = divmod(number, 62)
        chars.append(_BASE62[remainder])
    return "".join(reversed(chars)).rjust(width, _BASE62[0])


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), _CHECKSUM_LENGTH)


def generate() -> str:
    """A new key: 256 random bits and their checksum."""
    body = _base62(int.from_bytes(secrets.token_bytes(RANDOM_BYTES), "big"), _BODY_LENGTH)
    return f"{PREFIX}{body}{_checksum(body)}"


def has_valid_checksum(token: str) -> bool:
    """True when the token has the key format and its checksum matches: no database needed."""
    match = KEY_PATTERN.fullmatch(token)
    return match is not None and _checksum(match.group(1)) == match.group(2)


def digest(token: str) -> str:
    """What is stored and looked up: the SHA-256 of the whole key, hex."""
    return token_digest(token)


def hint(token: str) -> str:
    """What is shown after creation: `sk-…` and the last four characters."""
    return f"{PREFIX}…{token[-4:]}"

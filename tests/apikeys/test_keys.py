"""The key format: pure functions, no database."""

from __future__ import annotations

import re

import pytest

from apikeys import keys


def test_generate_has_prefix_fixed_length_and_valid_checksum() -> None:
    key = keys.generate()
    assert re.fullmatch(r"sk-[0-9A-Za-z]{49}", key)
    assert len(key) == keys.KEY_LENGTH == 52
    assert keys.has_valid_checksum(key)


def test_generate_carries_at_least_256_bits() -> None:
    # 43 base62 characters hold log2(62) * 43 ≈ 256.04 bits; the random part uses the whole range.
    generated = {keys.generate() for _ in range(200)}
    assert len(generated) == 200
    bodies = [key[3:46] for key in generated]
    assert len(set("".join(bodies))) == 62  # every base62 symbol shows up: no narrowed alphabet


@pytest.mark.parametrize(
    "mutate",
    [
        lambda k: k[:-1],  # truncated
        lambda k: k + "A",  # too long
        lambda k: k[:10] + ("A" if k[10] != "A" else "B") + k[11:],  # one character mistyped
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # checksum mistyped
        lambda k: "pk-" + k[3:],  # wrong prefix
        lambda k: k[:20] + "-" + k[21:],  # not base62
        lambda k: k.upper() if k != k.upper() else k.lower(),  # case matters
        lambda k: "",
        lambda k: "sk-",
        lambda k: " " + k,
    ],
)
def test_has_valid_checksum_rejects_mistyped_and_made_up_keys(mutate: object) -> None:
    key = keys.generate()
    assert not keys.has_valid_checksum(mutate(key))  # type: ignore[operator]


def test_digest_is_sha256_hex_and_hint_shows_last_four() -> None:
    key = keys.generate()
    digest = keys.digest(key)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == keys.digest(key) != keys.digest(keys.generate())
    assert keys.hint(key) == f"sk-…{key[-4:]}"
    assert key not in (digest, keys.hint(key))

"""Random public identifiers for rows whose id reaches a URL, the REST API or MCP.

Sequential integers would tell one tenant how many rows the others have and invite guessing; a
prefixed random id (`doc_5kq2…`) is unguessable and says what it names.
"""

import secrets

from django.db import models

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case: no i, l, o, u
_LENGTH = 16  # 80 bits


def new_public_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))


class PublicIdField(models.CharField):
    """A unique `<prefix>_<16 base32 chars>` filled in when the row is first saved."""

    def __init__(self, *args: object, prefix: str, **kwargs: object) -> None:
        self.prefix = prefix
        kwargs.setdefault("max_length", len(prefix) + 1 + _LENGTH)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def deconstruct(self):  # type: ignore[no-untyped-def]
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = getattr(model_instance, self.attname)
        if not value:
            value = new_public_id(self.prefix)
            setattr(model_instance, self.attname, value)
        return value

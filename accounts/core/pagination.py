"""Cursor (keyset) pagination for long, append-mostly lists: the audit log, later the REST API and MCP.

A page is one indexed range scan, `WHERE (created_at, id) < (:c, :i) ORDER BY created_at DESC, id DESC
LIMIT n + 1`, so it costs the same on page 1 and page 10,000: no OFFSET (which reads and throws away
every skipped row) and no COUNT(*) (which reads them all). Rows inserted while someone pages are
neither skipped nor shown twice, which OFFSET cannot promise on a log that grows at the top.

A cursor names a position, not a page number: the ordering values of the row it continues from,
plus a direction, encrypted and authenticated (Fernet, with a key derived from SECRET_KEY and a
per-use salt). Encrypted, not just signed: the values include the row's primary key, a global
sequence that would tell a tenant how busy the others are. A forged, edited or foreign cursor is an
`InvalidCursor` (a form error in the dashboard, a 400 in the API), never a 500 or a query on
attacker-chosen values. It is not an authorization: the queryset it is applied to is already scoped
to the principal.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.utils.crypto import salted_hmac

M = TypeVar("M", bound=models.Model)

# Directions inside a cursor: rows after its position in the ordering, or before it.
_NEXT, _PREVIOUS = "n", "p"
_MAX_CURSOR_LENGTH = 512


class InvalidCursor(ValueError):
    """The cursor was not issued by this paginator (forged, truncated or from another list)."""


@dataclass(frozen=True)
class CursorPage(Generic[M]):
    """One page of rows and the cursors of its neighbours (None at either end)."""

    items: list[M]
    next_cursor: str | None  # further along the ordering: older events in the audit log
    previous_cursor: str | None  # back towards the start: newer events

    def __iter__(self) -> Iterator[M]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class KeysetPaginator(Generic[M]):
    """Pages a queryset by `ordering`, whose last field must be unique (the primary key) and none null.

    Give the queryset an index that matches the ordering behind its filters, such as
    `(organization, -created_at, -id)`, so every page is one short index range scan.
    """

    def __init__(
        self,
        *,
        salt: str,
        ordering: Sequence[str] = ("-created_at", "-id"),
        page_size: int = 50,
        max_page_size: int = 200,
    ) -> None:
        if not ordering:
            raise ValueError("KeysetPaginator needs at least one ordering field")
        self.salt = f"accounts.pagination:{salt}"
        self.ordering = tuple(ordering)
        self.page_size = page_size
        self.max_page_size = max_page_size
        self._keys = [(name.removeprefix("-"), name.startswith("-")) for name in self.ordering]

    def paginate(
        self, queryset: models.QuerySet[M], *, cursor: str | None = None, page_size: int | None = None
    ) -> CursorPage[M]:
        """The page at `cursor` (the first page when empty); raises InvalidCursor for a bad cursor."""
        # A client may ask for a page size (REST API, MCP); it never gets more than max_page_size.
        size = max(1, min(page_size or self.page_size, self.max_page_size))
        if not cursor:
            rows = list(queryset.order_by(*self.ordering)[: size + 1])
            return CursorPage(items=rows[:size], next_cursor=self._next(rows, size), previous_cursor=None)
        direction, values = self._decode(queryset.model, cursor)
        if direction == _NEXT:
            after = queryset.filter(self._beyond(values, forward=True))
            rows = list(after.order_by(*self.ordering)[: size + 1])
            items = rows[:size]
            return CursorPage(
                items=items,
                next_cursor=self._next(rows, size),
                # We came from the row the cursor names, so there is always a way back.
                previous_cursor=self.encode(_PREVIOUS, items[0]) if items else None,
            )
        # Walking backwards: read the nearest rows in reverse order, then put them back in order.
        backwards = [name[1:] if name.startswith("-") else f"-{name}" for name in self.ordering]
        before = queryset.filter(self._beyond(values, forward=False))
        rows = list(before.order_by(*backwards)[: size + 1])
        items = rows[:size][::-1]
        return CursorPage(
            items=items,
            next_cursor=self.encode(_NEXT, items[-1]) if items else None,
            previous_cursor=self.encode(_PREVIOUS, items[0]) if len(rows) > size else None,
        )

    def _next(self, rows: list[M], size: int) -> str | None:
        # One row more than a page was read, so "is there more?" costs no COUNT.
        return self.encode(_NEXT, rows[size - 1]) if len(rows) > size else None

    def encode(self, direction: str, row: M) -> str:
        """An opaque cursor for the rows after (`"n"`) or before (`"p"`) this row."""
        values = [_field(type(row), name).value_to_string(row) for name, _ in self._keys]
        return self._seal([direction, *values])

    def _cipher(self) -> MultiFernet:
        # The current SECRET_KEY encrypts; the fallbacks still open cursors issued before a rotation.
        secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
        keys = [
            salted_hmac(self.salt, "cursor", secret=secret, algorithm="sha256").digest() for secret in secrets
        ]
        return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in keys])

    def _seal(self, payload: Any) -> str:
        return self._cipher().encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode("ascii")

    def _decode(self, model: type[M], cursor: str) -> tuple[str, list[Any]]:
        if len(cursor) > _MAX_CURSOR_LENGTH:
            raise InvalidCursor("cursor too long")
        try:
            payload = json.loads(self._cipher().decrypt(cursor.encode("ascii")))
        except (InvalidToken, UnicodeEncodeError, ValueError):
            raise InvalidCursor("not a cursor of this list") from None
        if (
            not isinstance(payload, list)
            or len(payload) != len(self._keys) + 1
            or payload[0] not in (_NEXT, _PREVIOUS)
        ):
            raise InvalidCursor("malformed cursor")
        try:
            values = [
                _field(model, name).to_python(raw)
                for (name, _), raw in zip(self._keys, payload[1:], strict=True)
            ]
        except (FieldDoesNotExist, ValidationError):
            raise InvalidCursor("malformed cursor") from None
        return payload[0], values

    def _beyond(self, values: list[Any], *, forward: bool) -> Q:
        """Rows strictly past `values` in the ordering (forward) or strictly before them."""
        # Lexicographic (a, b) > (x, y) is `a > x OR (a = x AND b > y)`. The redundant leading
        # `a >= x` gives the database an index range to start from instead of a filter to apply
        # to every row it walks past (PostgreSQL does not derive it from the OR by itself).
        (first, first_desc), first_value = self._keys[0], values[0]
        bound = Q(**{f"{first}__{'lte' if first_desc == forward else 'gte'}": first_value})
        strict = Q()
        for i, ((name, desc), value) in enumerate(zip(self._keys, values, strict=True)):
            equal = {prev: values[j] for j, (prev, _) in enumerate(self._keys[:i])}
            strict |= Q(**equal, **{f"{name}__{'lt' if desc == forward else 'gt'}": value})
        return bound & strict


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):  # a reverse relation has no single column to order by
        raise FieldDoesNotExist(f"{model.__name__}.{name} is not a column")
    return field

"""Request parsing for the API: malformed JSON of any kind is a 400, never a 500."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSONParser, plus the errors it lets through: nesting too deep, bad encodings."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except ParseError:
            raise
        except (RecursionError, ValueError):
            # `[[[[…` a hundred thousand deep exhausts the JSON decoder's recursion; say so, briefly.
            raise ParseError(_("The request body is not valid JSON, or is nested too deeply.")) from None

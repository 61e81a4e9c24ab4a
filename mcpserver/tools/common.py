"""What the tools share: argument types, the cursor and limit of every list, not-found messages."""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import Field

T = TypeVar("T")


SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"


ProjectSlug = Annotated[
    str,
    Field(
        min_length=1,
        max_length=50,
        pattern=SLUG_PATTERN,
        description="The project's slug, e.g. 'handbook' (see list_projects).",
    ),
]


ProjectFilter = Annotated[
    str | None, Field(max_length=50, pattern=SLUG_PATTERN, description="Only this project's slug.")
]


DocumentId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=SLUG_PATTERN,
        description="The document's id, e.g. 'doc_…' (see list_documents or search_documents).",
    ),
]


Cursor = Annotated[
    str | None,
    Field(
        max_length=512, description="next_cursor of the previous page, unchanged; omit for the first page."
    ),
]


Limit = Annotated[int, Field(ge=1, le=100, description="How many items per page (1-100).")]


NextCursor = Annotated[
    str | None, Field(description="Pass as cursor to get the next page; null on the last page.")
]


NO_PROJECT = "Not found: no project with that slug in this organization (see list_projects)."


NO_DOCUMENT = "Not found: no document with that id in this organization (see list_documents)."


def keep_or(value: T | None, current: T) -> T:
    """An update tool's optional argument: the new value, or the current one when it was omitted."""
    return current if value is None else value


def document_uri(project_slug: str, document_id: str) -> str:
    return f"gatehouse://projects/{project_slug}/documents/{document_id}"

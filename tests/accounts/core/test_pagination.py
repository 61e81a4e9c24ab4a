"""accounts.pagination.KeysetPaginator on its own: any ordering, both directions, bad cursors, sizes."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from accounts.core.pagination import CursorPage, InvalidCursor, KeysetPaginator
from accounts.models import Organization, Project
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects(org: Organization) -> list[Project]:
    """25 projects on five distinct timestamps, so the unique last field decides ties."""
    start = timezone.now()
    return [
        ProjectFactory(organization=org, slug=f"p{i:02}", created_at=start + timedelta(seconds=i // 5))
        for i in range(25)
    ]


def walk(paginator: KeysetPaginator[Project], org: Organization, size: int) -> list[CursorPage[Project]]:
    queryset = Project.objects.for_org(org)
    pages = [paginator.paginate(queryset, page_size=size)]
    while pages[-1].next_cursor:
        pages.append(paginator.paginate(queryset, cursor=pages[-1].next_cursor, page_size=size))
    return pages


@pytest.mark.parametrize("ordering", [("created_at", "id"), ("-created_at", "-id"), ("slug",), ("-slug",)])
def test_walking_forward_and_back_visits_each_row_once(
    org: Organization, projects: list[Project], ordering: tuple[str, ...]
) -> None:
    paginator: KeysetPaginator[Project] = KeysetPaginator(salt="test", ordering=ordering)
    expected = list(Project.objects.for_org(org).order_by(*ordering))

    pages = walk(paginator, org, size=7)

    assert [len(page) for page in pages] == [7, 7, 7, 4]
    assert [p for page in pages for p in page] == expected
    assert pages[0].previous_cursor is None
    assert pages[-1].next_cursor is None
    # Back from the last page, page by page, to the first.
    queryset = Project.objects.for_org(org)
    page = pages[-1]
    for earlier in reversed(pages[:-1]):
        page = paginator.paginate(queryset, cursor=page.previous_cursor, page_size=7)
        assert page.items == earlier.items
    assert page.previous_cursor is None


def test_an_empty_list_is_one_empty_page(org: Organization) -> None:
    page = KeysetPaginator(salt="test").paginate(Project.objects.for_org(org))
    assert (page.items, page.next_cursor, page.previous_cursor) == ([], None, None)


def test_a_page_exactly_full_has_no_next(org: Organization, projects: list[Project]) -> None:
    page = KeysetPaginator(salt="test").paginate(Project.objects.for_org(org), page_size=25)
    assert len(page) == 25
    assert page.next_cursor is None


def test_page_size_is_capped(org: Organization, projects: list[Project]) -> None:
    paginator: KeysetPaginator[Project] = KeysetPaginator(salt="test", max_page_size=10)
    assert len(paginator.paginate(Project.objects.for_org(org), page_size=1000)) == 10
    assert len(paginator.paginate(Project.objects.for_org(org), page_size=-5)) == 1


OURS: KeysetPaginator[Project] = KeysetPaginator(salt="test")
THEIRS: KeysetPaginator[Project] = KeysetPaginator(salt="somebody else")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "é" * 10,
        THEIRS._seal(["n", "2026-01-01T00:00:00+00:00", "1"]),
        OURS._seal(["n", "2026-01-01T00:00:00+00:00"]),  # too short
        OURS._seal(["x", "2026-01-01T00:00:00+00:00", "1"]),
        OURS._seal(["n", "yesterday", "1"]),
        OURS._seal({"n": 1}),
        signing.dumps(
            ["n", "2026-01-01T00:00:00+00:00", "1"], salt="accounts.pagination:test"
        ),  # signed only
        "a" * 1000,
    ],
)
def test_bad_cursors_are_invalid_cursor(org: Organization, projects: list[Project], cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        OURS.paginate(Project.objects.for_org(org), cursor=cursor)


def test_a_cursor_does_not_show_the_row_it_names(org: Organization, projects: list[Project]) -> None:
    """The primary key in a cursor would tell a tenant how many rows all tenants have: encrypted."""
    page = OURS.paginate(Project.objects.for_org(org), page_size=2)
    row = page.items[-1]
    cursor = page.next_cursor
    assert cursor is not None
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    for value in (row.created_at.isoformat()[:19], row.slug):
        assert value not in cursor
        assert value.encode() not in decoded
    # A short number turns up in random bytes by chance (often); as a JSON value it would not.
    assert not re.search(rb"[\[,:]" + str(row.pk).encode() + rb"[\],}]", decoded)


def test_a_cursor_is_opaque_but_not_secret(org: Organization, projects: list[Project]) -> None:
    """It carries a position only; applied to another organization's list it shows that list."""
    paginator: KeysetPaginator[Project] = KeysetPaginator(salt="test")
    cursor = paginator.paginate(Project.objects.for_org(org), page_size=5).next_cursor
    other = Organization.objects.create(name="Other", slug="other")
    assert paginator.paginate(Project.objects.for_org(other), cursor=cursor).items == []

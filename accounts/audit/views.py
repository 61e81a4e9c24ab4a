"""The audit log page and its exports (owners and admins: Permission.AUDIT_READ)."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from accounts.audit.forms import AuditFilterForm
from accounts.audit.models import AuditEvent
from accounts.audit.selectors import audit_event_list
from accounts.audit.services import audit_log_export
from accounts.content.selectors import project_list
from accounts.core.pagination import InvalidCursor, KeysetPaginator
from accounts.core.permissions import Permission
from accounts.core.principal import Principal
from accounts.core.rls import tenant_scope
from accounts.orgs.mixins import OrgViewMixin
from accounts.orgs.selectors import member_list

# The REST API and MCP page the same list; each gets its own salt, so cursors do not cross over.
audit_paginator: KeysetPaginator[AuditEvent] = KeysetPaginator(salt="audit", page_size=50)


def audit_filter_form(*, principal: Principal, data: Any) -> AuditFilterForm:
    """The filter form, offering the members and projects of the principal's organization only."""
    return AuditFilterForm(
        data,
        members=list(member_list(principal=principal)),
        projects=list(project_list(principal=principal, include_archived=True)),
    )


class AuditLogView(OrgViewMixin, TemplateView):
    permission = Permission.AUDIT_READ
    template_name = "accounts/audit/log.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if any(value == "" for value in request.GET.values()):
            # A filter form submitted without its script sends every field, empty or not: send the
            # browser to the URL that names only what was chosen, the one people bookmark and share.
            chosen = QueryDict(mutable=True)
            for name, values in request.GET.lists():
                chosen.setlist(name, [value for value in values if value != ""])
            query = chosen.urlencode()
            return HttpResponseRedirect(f"{request.path}?{query}" if query else request.path)
        form = audit_filter_form(principal=self.principal, data=request.GET)
        page, status = None, 200
        if form.is_valid():
            events = audit_event_list(principal=self.principal, filters=form.filters())
            try:
                page = audit_paginator.paginate(events, cursor=request.GET.get("cursor"))
            except InvalidCursor:
                # A link nobody here issued (edited, truncated, or signed with an old secret key).
                status = 400
                form.add_error(None, _("This page link is not valid. Start again from the newest events."))
        context = self.get_context_data(
            form=form,
            page=page,
            paged=bool(request.GET.get("cursor")),
            nav_section="audit",
            export_max_rows=settings.AUDIT_EXPORT_MAX_ROWS,
        )
        return self.render_to_response(context, status=status)


class AuditExportView(OrgViewMixin, View):
    """The filtered log as CSV or JSON, streamed: the page's filters, newest first, capped.

    JSON is one array of objects (`json.load` reads it whole; it is written row by row). Each row
    carries every field the chain hashes plus `seq`, `prev_hash` and `hash`, so a copy can be
    verified, or compared later with the live chain to show nothing was rewritten since.
    """

    permission = Permission.AUDIT_READ

    def get(self, request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponseBase:
        if fmt not in EXPORT_FORMATS:
            raise Http404
        form = audit_filter_form(principal=self.principal, data=request.GET)
        if not form.is_valid():
            return HttpResponseBadRequest(form.errors.as_text(), content_type="text/plain; charset=utf-8")
        events = audit_log_export(principal=self.principal, filters=form.filters(), fmt=fmt)
        content_type, write = EXPORT_FORMATS[fmt]
        # .iterator(): rows go from the database cursor to the client without piling up in memory.
        chunks = _buffered(write(export_row(event) for event in events.iterator(chunk_size=1000)))
        chunks = _in_scope(chunks, organization_id=self.org.pk)
        response = StreamingHttpResponse(_for_server(request, chunks), content_type=content_type)
        filename = f"audit-{self.org.slug}-{timezone.localdate():%Y-%m-%d}.{fmt}"
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
        response["X-Export-Max-Rows"] = str(settings.AUDIT_EXPORT_MAX_ROWS)
        add_never_cache_headers(response)
        return response


EXPORT_FIELDS = (
    "seq",
    "created_at",
    "organization_id",
    "action",
    "channel",
    "actor_id",
    "actor",
    "credential_kind",
    "credential_id",
    "credential_label",
    "project_id",
    "project",
    "target_type",
    "target_id",
    "target_label",
    "ip",
    "user_agent",
    "data",
    "prev_hash",
    "hash",
)


def export_row(event: AuditEvent) -> dict[str, Any]:
    """One exported event: what `accounts.audit.event_digest` hashes, readable names added."""
    return {
        "seq": event.seq,
        "created_at": event.created_at.isoformat(),
        "organization_id": event.organization_id,
        "action": event.action,
        "channel": event.channel,
        "actor_id": event.actor_id,
        "actor": event.actor_label,
        "credential_kind": event.credential_kind,
        "credential_id": event.credential_id,
        "credential_label": event.credential_label,
        "project_id": event.project_id,
        "project": event.project.slug if event.project is not None else "",
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "data": event.data,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


class _Echo:
    """A file that hands back what is written: csv.writer then produces one line at a time."""

    def write(self, value: str) -> str:
        return value


# Spreadsheets run a cell that starts like a formula; labels and titles come from members and AI
# clients, so such cells get a leading apostrophe (OWASP "CSV injection"). Verify with the JSON export.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return f"'{value}"
    return value


def _write_csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_FIELDS)
    for row in rows:
        yield writer.writerow([_csv_cell(row[field]) for field in EXPORT_FIELDS])


def _write_json(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    separator = "[\n"
    for row in rows:
        yield separator + json.dumps(row, ensure_ascii=False)
        separator = ",\n"
    yield "[]\n" if separator == "[\n" else "\n]\n"


Chunks = Generator[bytes, None, None]

EXPORT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", _write_csv),
    "json": ("application/json", _write_json),
}


def _buffered(parts: Iterable[str], size: int = 64 * 1024) -> Chunks:
    """Join small pieces into chunks of about `size` bytes: fewer, fuller writes to the client."""
    buffer: list[str] = []
    length = 0
    for part in parts:
        buffer.append(part)
        length += len(part)
        if length >= size:
            yield "".join(buffer).encode()
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer).encode()


def _in_scope(chunks: Chunks, *, organization_id: int) -> Chunks:
    # The body is read after the request's scope has ended (accounts/core/rls.py), a chunk at a time,
    # maybe in a thread that serves other requests in between: each chunk is read in the scope.
    while True:
        with tenant_scope(organization_id=organization_id):
            chunk = next(chunks, None)
        if chunk is None:
            return
        yield chunk


def _for_server(request: HttpRequest, chunks: Chunks) -> Iterator[bytes] | AsyncIterator[bytes]:
    # Under ASGI (uvicorn, production) Django reads a *sync* iterator into a list before sending
    # anything, which would hold the whole export in memory; an async iterator is streamed. The
    # ORM cursor is still read in the request's one sync thread, a chunk at a time.
    if isinstance(request, ASGIRequest):
        return _in_sync_thread(chunks)
    return chunks


async def _in_sync_thread(chunks: Chunks) -> AsyncIterator[bytes]:
    next_chunk = sync_to_async(partial(next, chunks, None), thread_sensitive=True)
    try:
        while (chunk := await next_chunk()) is not None:
            yield chunk
    finally:
        # A client that goes away mid-download: close the database cursor now, in its own thread.
        await sync_to_async(chunks.close, thread_sensitive=True)()

"""The audit log: written explicitly by services, sealed into a hash chain after commit.

Why seal after commit: if each event took the previous event's hash while its own transaction was
still open, every writer in an organization would queue behind one lock held for its whole
transaction (every MCP tool call writes an event). Instead `audit_record()` only INSERTs, inside the
caller's transaction, so the event commits or rolls back with the change it describes. Once the
transaction has committed, `seal_pending()` takes the organization's `AuditChainHead` row lock for
a few milliseconds, gives every not-yet-sealed event the next sequence number in id order, and
chains `hash = sha256(prev_hash + canonical content)`. The chain order is `seq`, the order events
were sealed in.

Who seals: by default the transaction itself, in an on_commit callback (the dashboard, the REST API,
management commands). Code running inside `sealing_deferred_to(sink)` hands the organization to
`sink` after commit instead, and the sink's owner seals later, coalesced: the MCP endpoint's
background sealer (mcpserver/sealer.py) seals every organization with new events about every
100 ms and once more at shutdown, so the chain's ~5 queries leave every tool call's latency. Either
way an event is committed, with its change, before anyone seals it. A crash between commit and
sealing leaves events unsealed, never lost: the next sealing of that organization (or
`audit_verify --seal`) picks them up, and `verify_chain()` reports them as pending, not broken.

`verify_chain()` (`manage.py audit_verify`) finds an event edited, removed or cut off the end.
Someone able to rewrite both the tail and `AuditChainHead` is caught only by comparing with hashes
kept elsewhere: exports carry `seq`, `prev_hash` and `hash` for that.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditChainHead, AuditEvent, Organization, Project

if TYPE_CHECKING:
    from accounts.principal import Principal

logger = logging.getLogger(__name__)

SEAL_BATCH = 500


class AuditAction(models.TextChoices):
    # The value is stored and exported (stable, never translated); the label is what people read.
    ORG_CREATED = "org.created", _("Organization created")
    ORG_UPDATED = "org.updated", _("Organization updated")
    MEMBER_INVITED = "member.invited", _("Member invited")
    INVITATION_REVOKED = "member.invitation_revoked", _("Invitation revoked")
    MEMBER_JOINED = "member.joined", _("Member joined")
    MEMBER_ROLE_CHANGED = "member.role_changed", _("Member role changed")
    MEMBER_REMOVED = "member.removed", _("Member removed")
    MEMBER_LEFT = "member.left", _("Member left")
    PROJECT_CREATED = "project.created", _("Project created")
    PROJECT_UPDATED = "project.updated", _("Project updated")
    PROJECT_ARCHIVED = "project.archived", _("Project archived")
    PROJECT_UNARCHIVED = "project.unarchived", _("Project unarchived")
    DOCUMENT_CREATED = "document.created", _("Document created")
    DOCUMENT_UPDATED = "document.updated", _("Document updated")
    DOCUMENT_DELETED = "document.deleted", _("Document deleted")
    AUDIT_EXPORTED = "audit.exported", _("Audit log exported")
    APIKEY_CREATED = "apikey.created", _("API key created")
    APIKEY_ROLLED = "apikey.rolled", _("API key rolled")
    APIKEY_REVOKED = "apikey.revoked", _("API key revoked")
    APIKEY_EXPIRED = "apikey.expired", _("API key expired")
    OAUTH_CLIENT_REGISTERED = "oauth.client_registered", _("OAuth app registered")
    OAUTH_CONSENT_GRANTED = "oauth.consent_granted", _("OAuth app allowed")
    OAUTH_CONSENT_DENIED = "oauth.consent_denied", _("OAuth app denied")
    OAUTH_APP_REVOKED = "oauth.app_revoked", _("OAuth app disconnected")
    OAUTH_REFRESH_REUSE_DETECTED = "oauth.refresh_reuse_detected", _("OAuth refresh token reused")
    MCP_TOOL_CALLED = "mcp.tool_called", _("MCP tool called")


# Data added to every event recorded inside `audit_tags()`, and the events recorded: the MCP endpoint
# tags the events its services write with the tool that caused them instead of writing a second one.
_TAGS: ContextVar[tuple[dict[str, Any], list[AuditEvent]] | None] = ContextVar("audit_tags", default=None)


@contextmanager
def audit_tags(**data: Any) -> Iterator[list[AuditEvent]]:
    """Add `data` to every event recorded inside the block; yields the list of those events."""
    recorded: list[AuditEvent] = []
    token = _TAGS.set((data, recorded))
    try:
        yield recorded
    finally:
        _TAGS.reset(token)


def audit_record(
    *,
    principal: Principal,
    action: AuditAction | str,
    target: models.Model | None = None,
    target_label: str = "",
    project: Project | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event for the principal's organization; only valid inside the service's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record() must be called inside the service's transaction")
    if project is None and isinstance(target, Project):
        project = target
    credential = principal.credential
    tags = _TAGS.get()
    if tags is not None:
        data = {**(data or {}), **tags[0]}
    event = AuditEvent(
        organization=principal.organization,
        action=str(action),
        channel=principal.channel,
        actor=principal.user,
        actor_label=principal.user.email if principal.user else "",
        credential_kind=credential.kind if credential else "",
        credential_id=credential.id if credential else "",
        credential_label=credential.label if credential else "",
        project=project,
        target_type=target._meta.model_name or "" if target is not None else "",
        target_id=str(getattr(target, "public_id", None) or target.pk) if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:200],
        ip=principal.ip,
        user_agent=principal.user_agent[:512],
        data=data or {},
    )
    event.save()
    if tags is not None:
        tags[1].append(event)
    _queue_sealing(principal.organization.pk)
    return event


# Where committed events' organizations go instead of being sealed inline (see the module docstring).
_SEAL_SINK: ContextVar[Callable[[int], None] | None] = ContextVar("audit_seal_sink", default=None)


@contextmanager
def sealing_deferred_to(sink: Callable[[int], None]) -> Iterator[None]:
    """Inside the block, a commit hands `sink(org_id)` the organizations to seal instead of sealing them."""
    token = _SEAL_SINK.set(sink)
    try:
        yield
    finally:
        _SEAL_SINK.reset(token)


class _SealAfterCommit:
    """The on_commit callback that seals one organization's chain (all its pending events at once)."""

    def __init__(self, org_id: int, sink: Callable[[int], None] | None = None) -> None:
        self.org_id = org_id
        self.sink = sink
        self.ran = False

    def __call__(self) -> None:
        self.ran = True
        try:
            if self.sink is not None:
                self.sink(self.org_id)
                return
            seal_pending(org_id=self.org_id)
        except Exception:
            # The events are committed; an unsealed event is sealed by the next one of its organization.
            logger.exception("could not seal the audit chain of organization %s", self.org_id)


def _queue_sealing(org_id: int) -> None:
    """One sealing per organization per transaction, however many events it records."""
    # Django's own list of pending callbacks is the source of truth: a savepoint rollback removes the
    # callbacks queued inside it, so an event recorded after that queues a sealing again. (`ran`: the
    # test harness, captureOnCommitCallbacks, runs callbacks without removing them from the list.)
    pending = transaction.get_connection().run_on_commit
    if not any(isinstance(f, _SealAfterCommit) and f.org_id == org_id and not f.ran for _, f, _ in pending):
        transaction.on_commit(_SealAfterCommit(org_id, _SEAL_SINK.get()), robust=True)


def event_digest(event: AuditEvent, *, prev_hash: str, seq: int) -> str:
    """SHA-256 over the previous hash and everything the event says."""
    content = {
        "seq": seq,
        "organization": event.organization_id,
        "created_at": event.created_at.isoformat(),
        "action": event.action,
        "channel": event.channel,
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "credential": [event.credential_kind, event.credential_id, event.credential_label],
        "project": event.project_id,
        "target": [event.target_type, event.target_id, event.target_label],
        "ip": event.ip,
        "user_agent": event.user_agent,
        "data": event.data,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def seal_pending(*, org_id: int) -> int:
    """Chain every committed, unsealed event of one organization; returns how many were sealed."""
    sealed = 0
    while True:
        with transaction.atomic():
            AuditChainHead.objects.get_or_create(organization_id=org_id)
            head = AuditChainHead.objects.select_for_update().get(organization_id=org_id)
            pending = list(
                AuditEvent.all_orgs.filter(organization_id=org_id, hash="").order_by("id")[:SEAL_BATCH]
            )
            if not pending:
                return sealed
            for event in pending:
                head.seq += 1
                digest = event_digest(event, prev_hash=head.hash, seq=head.seq)
                # A plain QuerySet: the model refuses updates, and this one-time sealing is the exception.
                sealed_now = (
                    models.QuerySet(AuditEvent)
                    .filter(pk=event.pk, hash="")
                    .update(seq=head.seq, prev_hash=head.hash, hash=digest)
                )
                if sealed_now != 1:
                    # Someone sealed it without the head lock: roll the batch back rather than
                    # leave a gap in the chain; the next sealing starts again from the head.
                    raise RuntimeError(f"audit event {event.pk} was sealed concurrently")
                head.hash = digest
            head.save(update_fields=["seq", "hash"])
            sealed += len(pending)
        if len(pending) < SEAL_BATCH:
            # A short batch took every event committed before it; later ones are sealed by their
            # own commit. Saves a transaction per audited request (every MCP tool call).
            return sealed


@dataclass(frozen=True)
class ChainReport:
    organization: Organization
    checked: int
    pending: int
    broken_seq: int | None = None
    broken_event_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify_chain(*, org: Organization) -> ChainReport:
    """Recompute one organization's chain and report the first broken link."""
    pending = AuditEvent.objects.for_org(org).filter(hash="").count()
    # Sealers keep appending while we read. Every event up to the head was committed together with
    # the head, so a walk that starts after reading the head must reach it. What a walk finds beyond
    # that head was either sealed meanwhile (the head, read again, covers it) or written behind the
    # sealer's back (the head, read again, does not).
    head_seq, head_hash = _chain_head(org)
    walk = _ChainWalk(org=org, pending=pending)
    if report := walk.run():
        return report
    if walk.checked > head_seq:
        head_seq, head_hash = _chain_head(org)
        if head_seq < walk.checked:
            return walk.broken(
                head_seq + 1,
                None,
                f"event #{head_seq + 1} lies beyond the chain head: it was not sealed here",
            )
        # Sealed after the first walk: check up to the head just read (bounded, so this ends).
        if report := walk.run(until=head_seq):
            return report
    if walk.checked < head_seq:
        return walk.broken(
            walk.checked + 1,
            None,
            f"the chain head says {head_seq} events, the chain ends at #{walk.checked}: events were cut off",
        )
    if walk.prev_hash != head_hash:
        return walk.broken(
            head_seq, None, "the chain head does not match the last event: the tail was rewritten"
        )
    return ChainReport(org, walk.checked, pending)


def _chain_head(org: Organization) -> tuple[int, str]:
    head = AuditChainHead.objects.filter(organization=org).values_list("seq", "hash").first()
    return head if head is not None else (0, "")


class _ChainWalk:
    """Checks sealed events in `seq` order, remembering how far it got."""

    def __init__(self, *, org: Organization, pending: int) -> None:
        self.org, self.pending = org, pending
        self.checked, self.prev_hash = 0, ""

    def broken(self, seq: int, event_id: int | None, reason: str) -> ChainReport:
        return ChainReport(self.org, self.checked, self.pending, seq, event_id, reason)

    def run(self, *, until: int | None = None) -> ChainReport | None:
        """Continue the walk (to `until`, inclusive, or the end); a report at the first broken link."""
        # `seq >= n` rather than `hash != ''`: an event whose hash was blanked still shows up here.
        events = AuditEvent.objects.for_org(self.org).filter(seq__gte=self.checked + 1)
        if until is not None:
            events = events.filter(seq__lte=until)
        for event in events.order_by("seq").iterator(chunk_size=2000):
            expected = self.checked + 1
            if event.seq != expected:
                return self.broken(
                    expected, event.pk, f"found #{event.seq} where #{expected} should be: events are missing"
                )
            if event.prev_hash != self.prev_hash:
                return self.broken(expected, event.pk, "its link to the previous event does not match")
            if event_digest(event, prev_hash=self.prev_hash, seq=expected) != event.hash:
                return self.broken(
                    expected, event.pk, "its content does not match its hash: the event was changed"
                )
            self.checked, self.prev_hash = expected, event.hash
        return None

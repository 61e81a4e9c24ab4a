"""The audit log's hash chain: sealing committed events, and verifying the chain.

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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models, transaction

from accounts.audit.models import AuditChainHead, AuditEvent
from accounts.orgs.models import Organization

if TYPE_CHECKING:
    pass


SEAL_BATCH = 500


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

"""The audit log: written explicitly by services, sealed into a hash chain after commit.

Why seal after commit: if each event took the previous event's hash while its own transaction was
still open, every writer in an organization would queue behind one lock held for its whole
transaction (every MCP tool call writes an event). Instead `audit_record()` only INSERTs, inside the
caller's transaction, so the event commits or rolls back with the change it describes. Once the
transaction has committed, `seal_pending()` takes the organization's `AuditChainHead` row lock for
a few milliseconds, gives every not-yet-sealed event the next sequence number in id order, and
chains `hash = sha256(prev_hash + canonical content)`. A crash between commit and sealing leaves the
event unsealed, never lost: the next sealing of that organization (or `audit_verify --seal`) picks
it up. The chain order is `seq`, the order events were sealed in.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import models, transaction

from accounts.models import AuditChainHead, AuditEvent, Organization, Project

if TYPE_CHECKING:
    from accounts.principal import Principal

logger = logging.getLogger(__name__)

SEAL_BATCH = 500


class AuditAction(models.TextChoices):
    ORG_CREATED = "org.created"
    ORG_UPDATED = "org.updated"
    MEMBER_INVITED = "member.invited"
    INVITATION_REVOKED = "member.invitation_revoked"
    MEMBER_JOINED = "member.joined"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    MEMBER_LEFT = "member.left"
    PROJECT_CREATED = "project.created"
    PROJECT_UPDATED = "project.updated"
    PROJECT_ARCHIVED = "project.archived"
    PROJECT_UNARCHIVED = "project.unarchived"
    DOCUMENT_CREATED = "document.created"
    DOCUMENT_UPDATED = "document.updated"
    DOCUMENT_DELETED = "document.deleted"
    AUDIT_EXPORTED = "audit.exported"


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
    transaction.on_commit(partial(_seal_after_commit, principal.organization.pk), robust=True)
    return event


def _seal_after_commit(org_id: int) -> None:
    try:
        seal_pending(org_id=org_id)
    except Exception:
        # The events are committed; an unsealed event is sealed by the next one of its organization.
        logger.exception("could not seal the audit chain of organization %s", org_id)


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
                models.QuerySet(AuditEvent).filter(pk=event.pk, hash="").update(
                    seq=head.seq, prev_hash=head.hash, hash=digest
                )
                head.hash = digest
            head.save(update_fields=["seq", "hash"])
            sealed += len(pending)


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
    head = AuditChainHead.objects.filter(organization=org).first()
    prev_hash, expected_seq, checked = "", 1, 0
    events = AuditEvent.objects.for_org(org).exclude(hash="").order_by("seq")
    for event in events.iterator(chunk_size=2000):
        broken = partial(ChainReport, org, checked, pending, expected_seq, event.pk)
        if event.seq != expected_seq:
            return broken(f"expected event #{expected_seq}, found #{event.seq}: events are missing")
        if event.prev_hash != prev_hash:
            return broken("its link to the previous event does not match")
        if event_digest(event, prev_hash=prev_hash, seq=expected_seq) != event.hash:
            return broken("its content does not match its hash: the event was changed")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    if head is not None and (head.seq != checked or head.hash != prev_hash):
        return ChainReport(
            org,
            checked,
            pending,
            checked + 1,
            None,
            f"the chain head says {head.seq} events, but {checked} were found: events were removed",
        )
    return ChainReport(org, checked, pending)

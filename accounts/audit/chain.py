"""The audit log's hash chain: sealing committed events, verifying them, anchoring them outside the database.

Why seal after commit: if each event took the previous event's hash while its own transaction was
still open, every writer in an organization would queue behind one lock held for its whole
transaction (every MCP tool call writes an event). Instead `audit_record()` only INSERTs, inside the
caller's transaction, so the event commits or rolls back with the change it describes. Once the
transaction has committed, `seal_pending()` takes the organization's `AuditChainHead` row lock for
a few milliseconds, gives every not-yet-sealed event the next sequence number in id order, and
chains `hash = HMAC-SHA256(AUDIT_CHAIN_KEY, prev_hash + canonical content)`. The chain order is
`seq`, the order events were sealed in.

Who seals: by default the transaction itself, in an on_commit callback (the dashboard, the REST API,
management commands). Code running inside `sealing_deferred_to(sink)` hands the organization to
`sink` after commit instead, and the sink's owner seals later, coalesced: the MCP endpoint's
background sealer (mcpserver/sealer.py) seals every organization with new events about every
100 ms and once more at shutdown, so the chain's ~5 queries leave every tool call's latency. Either
way an event is committed, with its change, before anyone seals it. A crash between commit and
sealing leaves events unsealed, never lost: the next sealing of that organization (or
`audit_verify --seal`) picks them up, and `verify_chain()` reports them as pending, not broken.

Why keyed, and anchored: `verify_chain()` (`manage.py audit_verify`) finds an event edited, removed
or cut off the end. With a plain hash, someone with write access to the database alone could
recompute the whole chain after editing it, or empty both tables, and the chain would verify. The
key (AUDIT_CHAIN_KEY, never in the database) makes recomputing impossible without it; on PostgreSQL
triggers refuse TRUNCATE of the log and any move backwards of a chain head; and signed checkpoints
of each chain head, written outside the database (accounts/audit/checkpoints.py), catch a chain
that was emptied or shortened. Chains sealed before the key existed keep their plain SHA-256 up to
`AuditChainHead.legacy_until`, and are anchored by the checkpoints from then on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from operator import attrgetter
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from accounts.audit import checkpoints
from accounts.audit.keys import chain_key
from accounts.audit.models import AuditChainHead, AuditEvent, NewEvent
from accounts.core import rls
from accounts.core.rls import tenant_transaction
from accounts.orgs.models import Organization

logger = logging.getLogger(__name__)


SEAL_BATCH = 500
_Adapt = Callable[[tuple[Any, ...]], list[Any]]


def event_digest(
    event: AuditEvent | NewEvent, *, prev_hash: str, seq: int, keyed: bool = True, key: bytes | None = None
) -> str:
    """HMAC-SHA256 (plain SHA-256 for a legacy event) over the previous hash and all the event says.

    `key`: the chain key (`chain_key()` when not given), for callers that digest many events."""
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
    message = f"{prev_hash}\n{canonical}".encode()
    if not keyed:
        return hashlib.sha256(message).hexdigest()
    # hmac.digest: OpenSSL's one-shot HMAC, the same bytes as hmac.new(...).digest() at half the cost.
    return hmac.digest(key or chain_key(), message, "sha256").hex()


def seal_pending(*, org_id: int, append: Sequence[NewEvent] = ()) -> int:
    """Chain every committed, unsealed event of one organization; returns how many were sealed.

    `append`: new events of this organization, not yet saved (a batch of reads, accounts/audit/journal.py),
    inserted already sealed after the pending ones, in the same transaction: one multi-row INSERT
    instead of an INSERT, a commit and a sealing UPDATE per event.
    """
    sealed = 0
    while True:
        with tenant_transaction(organization_id=org_id):
            head = _locked_head(org_id)
            # Raw SQL, the ORM's own statement: compiling it cost more than running it, per flush.
            pending = list(AuditEvent.all_orgs.raw(_statements().pending, [org_id]))
            # A short batch took every event committed before it: the new ones go after it.
            last = len(pending) < SEAL_BATCH
            appended = list(append) if last else []
            if not pending and not appended:
                return sealed
            for event in appended:
                if event.organization_id != org_id or event.seq is not None:
                    raise ValueError("only new events of this organization can be appended")
                # As the database will give it back, so that the digest verifies after a reload.
                if not _stored_as_is(event.data):
                    event.data = json.loads(json.dumps(event.data, cls=DjangoJSONEncoder))
            # In time order, so that the chain reads as it happened (a batch of reads is written a
            # moment after writes that came later); ties keep the committed events first.
            chain: list[AuditEvent | NewEvent] = [*pending, *appended]
            links: list[tuple[int, str, str, int]] = []  # seq, prev_hash, hash, id of committed events
            key = chain_key()
            for link in sorted(chain, key=lambda link: link.created_at):
                head.seq += 1
                digest = event_digest(link, prev_hash=head.hash, seq=head.seq, key=key)
                if isinstance(link, NewEvent):
                    link.seq, link.prev_hash, link.hash = head.seq, head.hash, digest
                else:
                    links.append((head.seq, head.hash, digest, link.pk))
                head.hash = digest
            if links:
                _seal(links)
            if appended:
                _insert(appended)
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute(_statements().move_head, [head.seq, head.hash, org_id])
            sealed += len(pending) + len(appended)
            # Anchored outside the database only once committed (this may run inside a caller's
            # transaction, which could still roll back).
            transaction.on_commit(partial(checkpoints.note_sealed, head))
        if last:
            # Later events are sealed by their own commit. Saves a transaction per audited request.
            return sealed


@dataclass(frozen=True)
class _Statements:
    pending: str  # the first SEAL_BATCH unsealed events of an organization (the partial index)
    head: str  # the chain head, locked (FOR UPDATE where the database has it)
    move_head: str


@cache
def _statements() -> _Statements:
    db = connections[DEFAULT_DB_ALIAS]
    events = db.ops.quote_name(AuditEvent._meta.db_table or "")
    heads = db.ops.quote_name(AuditChainHead._meta.db_table or "")
    lock = " FOR UPDATE" if db.features.has_select_for_update else ""
    return _Statements(
        pending=f"SELECT * FROM {events} WHERE organization_id = %s AND hash = '' "  # noqa: S608
        f"ORDER BY id LIMIT {SEAL_BATCH}",
        head=f"SELECT seq, hash, legacy_until FROM {heads} WHERE organization_id = %s{lock}",  # noqa: S608
        move_head=f"UPDATE {heads} SET seq = %s, hash = %s WHERE organization_id = %s",  # noqa: S608
    )


def _locked_head(org_id: int) -> AuditChainHead:
    """The organization's chain head, locked until the transaction ends; made at its first sealing."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_statements().head, [org_id])
        row = cursor.fetchone()
        if row is None:
            AuditChainHead.objects.get_or_create(organization_id=org_id)
            cursor.execute(_statements().head, [org_id])
            row = cursor.fetchone()
    columns = ["organization_id", "seq", "hash", "legacy_until"]
    return AuditChainHead.from_db(DEFAULT_DB_ALIAS, columns, [org_id, *row])


def _seal(links: Sequence[tuple[int, str, str, int]]) -> None:
    """Give committed events their place in the chain: one statement, many rows.

    Raw SQL: the model refuses updates, and this one-time sealing (of rows whose hash is still
    empty, which the PostgreSQL trigger allows) is the exception.
    """
    db = connections[DEFAULT_DB_ALIAS]
    table = db.ops.quote_name(AuditEvent._meta.db_table or "")
    with db.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s AND hash = ''",  # noqa: S608
            links,
        )
        if cursor.rowcount != len(links):
            # Someone sealed one without the head lock: roll the batch back rather than leave a gap
            # in the chain; the next sealing starts again from the head.
            raise RuntimeError("audit events were sealed concurrently")


def organizations_left_unsealed(*, committed_before: datetime) -> list[int]:
    """Organizations with events committed before `committed_before` and still unsealed: left by a
    process that died between a commit and its sealing (the partial index `audit_unsealed` holds only
    unsealed rows, so this reads a handful of index entries, whatever the log's size)."""
    if rls.enforced():  # across organizations: only the owner's function may look (rls_policies.py)
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT gatehouse_orgs_left_unsealed(%s)", [committed_before])
            return [org_id for (org_id,) in cursor.fetchall()]
    return sorted(
        set(
            AuditEvent.all_orgs.filter(hash="", created_at__lt=committed_before).values_list(
                "organization_id", flat=True
            )
        )
    )


def _stored_as_is(data: dict[str, Any]) -> bool:
    """Whether JSON gives `data` back unchanged: text keys, and values that are text, whole numbers,
    booleans, None or lists of text (what reads' events hold); anything else takes the round trip."""
    for key, value in data.items():
        if type(key) is not str:
            return False
        kind = type(value)
        if kind is list:
            if any(type(item) is not str for item in value):
                return False
        elif kind is not str and kind is not int and kind is not bool and value is not None:
            return False
    return True


def _insert(events: Sequence[NewEvent]) -> None:
    """INSERT sealed new events: one statement, executed for every row by the driver.

    Not `bulk_create()`: building its SQL cost more than the database's work, per event. Not one
    multi-row INSERT either: each batch size is a new statement for the drivers' statement caches
    (SQLite's kept 128 per connection, each as large as its rows: tens of MB). The three values that
    need the backend's adaptation (the time, the JSON data, the address) get what their field's
    `get_db_prep_save()` would give, from the backend's own adapters without the field's generic
    steps; text and numbers go as they are.
    """
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the proxy costs a lookup per use
    statement, values_of, adapt = _insert_plan(db)
    rows = [adapt(values_of(event)) for event in events]
    with db.cursor() as cursor:
        cursor.executemany(statement, rows)


def _insert_plan(db: BaseDatabaseWrapper) -> tuple[str, Callable[[NewEvent], tuple[Any, ...]], _Adapt]:
    """The INSERT statement, a getter of a row's values in column order, and their adaptation."""
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(db.ops.quote_name(str(f.column)) for f in fields)
    values = ", ".join(["%s"] * len(fields))
    table = db.ops.quote_name(AuditEvent._meta.db_table or "")
    statement = f"INSERT INTO {table} ({columns}) VALUES ({values})"  # noqa: S608
    names = [f.attname for f in fields]
    when, data, ip = (names.index(name) for name in ("created_at", "data", "ip"))
    ops = db.ops
    encoder = AuditEvent._meta.get_field("data").encoder  # type: ignore[attr-defined]
    clean_ip = AuditEvent._meta.get_field("ip").get_prep_value

    def adapt(row: tuple[Any, ...]) -> list[Any]:
        adapted = list(row)
        adapted[when] = ops.adapt_datetimefield_value(row[when])
        adapted[data] = ops.adapt_json_value(row[data], encoder)
        adapted[ip] = ops.adapt_ipaddressfield_value(clean_ip(row[ip]))
        return adapted

    return statement, attrgetter(*names), adapt


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
    head_seq, head_hash, legacy_until = _chain_head(org)
    walk = _ChainWalk(org=org, pending=pending, legacy_until=legacy_until)
    if report := walk.run():
        return report
    if walk.checked > head_seq:
        head_seq, head_hash, _legacy = _chain_head(org)
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
    if problem := _checkpoint_problem(org, head_seq=head_seq, legacy_until=legacy_until):
        return walk.broken(walk.checked, None, problem)
    return ChainReport(org, walk.checked, pending)


def _checkpoint_problem(org: Organization, *, head_seq: int, legacy_until: int) -> str:
    """What the chain contradicts in its latest checkpoint (kept outside the database), or ""."""
    try:
        checkpoint = checkpoints.latest(org_public_id=org.public_id)
    except checkpoints.CheckpointTampered as error:
        return str(error)
    if checkpoint is None:
        return ""
    when = checkpoint.at
    if checkpoint.legacy_until != legacy_until:
        return f"the chain head's legacy boundary differs from the checkpoint of {when}: it was edited"
    if head_seq < checkpoint.seq:
        return (
            f"the checkpoint of {when} records {checkpoint.seq} events, the chain has {head_seq}: "
            "events were removed"
        )
    anchored = (
        AuditEvent.objects.for_org(org).filter(seq=checkpoint.seq).values_list("hash", flat=True).first()
    )
    if anchored != checkpoint.hash:
        return f"event #{checkpoint.seq} does not match the checkpoint of {when}: the chain was rewritten"
    return ""


def _chain_head(org: Organization) -> tuple[int, str, int]:
    head = AuditChainHead.objects.filter(organization=org).values_list("seq", "hash", "legacy_until").first()
    return head if head is not None else (0, "", 0)


class _ChainWalk:
    """Checks sealed events in `seq` order, remembering how far it got."""

    def __init__(self, *, org: Organization, pending: int, legacy_until: int) -> None:
        self.org, self.pending, self.legacy_until = org, pending, legacy_until
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
            keyed = expected > self.legacy_until
            if event_digest(event, prev_hash=self.prev_hash, seq=expected, keyed=keyed) != event.hash:
                return self.broken(
                    expected, event.pk, "its content does not match its hash: the event was changed"
                )
            self.checked, self.prev_hash = expected, event.hash
        return None

"""Signed checkpoints of each organization's audit chain, kept outside the database.

Like CloudTrail's digest files: every so often the head of each chain (its last `seq` and `hash`) is
appended to `AUDIT_CHECKPOINT_DIR/<organization public id>.jsonl`, each line signed with the chain
key (HMAC-SHA256) and chained to the line before it. Someone who can write to the database but not
to that directory (or to wherever the operator copies it) cannot make the chain agree with its
checkpoints after emptying, shortening or recomputing it; `verify_chain()` compares the two.

A checkpoint is written after a sealing at most once per `AUDIT_CHECKPOINT_INTERVAL` seconds per
organization and process, and for every organization by `manage.py audit_checkpoint` (cron). Lines
are appended with one `write()` of less than PIPE_BUF bytes to a file opened O_APPEND, so workers
writing at once do not interleave them. A failure to write is logged and never fails a sealing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from accounts.audit.keys import chain_key
from accounts.orgs.models import Organization

if TYPE_CHECKING:
    from accounts.audit.models import AuditChainHead

logger = logging.getLogger(__name__)

_last_written: dict[int, float] = {}  # organization id -> when this process last checkpointed it
_lock = threading.Lock()


class CheckpointTampered(Exception):
    """A checkpoint file does not verify: a line was edited, removed or reordered."""


@dataclass(frozen=True)
class Checkpoint:
    org: str  # the organization's public id
    seq: int
    hash: str
    legacy_until: int
    at: str  # ISO 8601, when it was written
    prev: str  # the previous line's mac, "" for the first

    def mac(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hmac.new(chain_key(), canonical.encode(), hashlib.sha256).hexdigest()


def directory() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR)


def _path(org_public_id: str) -> Path:
    return directory() / f"{org_public_id}.jsonl"


def _read(path: Path) -> list[tuple[Checkpoint, str]]:
    """Every line of one file, verified in order; raises CheckpointTampered at the first bad one."""
    entries: list[tuple[Checkpoint, str]] = []
    prev = ""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            raw = json.loads(line)
            mac = raw.pop("mac")
            checkpoint = Checkpoint(**raw)
        except (ValueError, TypeError, KeyError):
            raise CheckpointTampered(f"checkpoint file {path.name}, line {number}: unreadable") from None
        if checkpoint.prev != prev or not hmac.compare_digest(mac, checkpoint.mac()):
            raise CheckpointTampered(
                f"checkpoint file {path.name}, line {number}: its signature does not verify"
            )
        entries.append((checkpoint, mac))
        prev = mac
    return entries


def latest(*, org_public_id: str) -> Checkpoint | None:
    """The organization's newest checkpoint, verified with the whole file; None if it has none."""
    path = _path(org_public_id)
    if not path.exists():
        return None
    entries = _read(path)
    return entries[-1][0] if entries else None


def write(*, org_public_id: str, seq: int, hash: str, legacy_until: int) -> Checkpoint:
    """Append a checkpoint of this chain head (skipped when the newest already says the same)."""
    path = _path(org_public_id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    entries = _read(path) if path.exists() else []
    if entries and (entries[-1][0].seq, entries[-1][0].hash) == (seq, hash):
        return entries[-1][0]
    checkpoint = Checkpoint(
        org=org_public_id,
        seq=seq,
        hash=hash,
        legacy_until=legacy_until,
        at=timezone.now().isoformat(timespec="seconds"),
        prev=entries[-1][1] if entries else "",
    )
    line = json.dumps({**asdict(checkpoint), "mac": checkpoint.mac()}, sort_keys=True) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)
    return checkpoint


def write_for_head(head: AuditChainHead) -> Checkpoint:
    org_public_id = Organization.objects.values_list("public_id", flat=True).get(pk=head.organization_id)
    return write(org_public_id=org_public_id, seq=head.seq, hash=head.hash, legacy_until=head.legacy_until)


def note_sealed(head: AuditChainHead) -> None:
    """After a sealing: checkpoint the head if this process has not for AUDIT_CHECKPOINT_INTERVAL."""
    now = time.monotonic()
    with _lock:
        last = _last_written.get(head.organization_id)
        if last is not None and now - last < settings.AUDIT_CHECKPOINT_INTERVAL:
            return
        _last_written[head.organization_id] = now
    try:
        write_for_head(head)
    except Exception:
        logger.exception("could not write an audit checkpoint for organization %s", head.organization_id)


def forget_written() -> None:
    """Forget when this process last checkpointed each organization (tests start from scratch)."""
    with _lock:
        _last_written.clear()


def orphans(*, known_public_ids: set[str]) -> list[str]:
    """Checkpointed organizations that are no longer in the database (a whole tenant removed)."""
    if not directory().is_dir():
        return []
    return sorted(path.stem for path in directory().glob("*.jsonl") if path.stem not in known_public_ids)

"""What the database says afterwards: acknowledged writes and their audit events, sealing, audit_verify.

Read as the tables' owner, straight from PostgreSQL: what a process told a client must be there
whatever the process believes now.
"""

from __future__ import annotations

import time

from tests.reliability.report import Result
from tests.reliability.stack import Stack
from tests.reliability.traffic import Outcome

SEAL_TIMEOUT = 40.0  # the sweep runs every 10 s for events older than 5 s: two sweeps and some


def acknowledged_writes(stack: Stack, outcomes: list[Outcome], result: Result) -> None:
    """Every write a client saw succeed is a document, with its `document.created` audit event."""
    acknowledged = sorted({o.document for o in outcomes if o.kind == "ok" and o.document})
    without_id = sum(o.kind == "ok" and not o.document for o in outcomes)
    result.check(without_id == 0, f"{without_id} acknowledged writes carried no document id")
    documents = {
        row[0]
        for row in stack.sql(
            "SELECT public_id FROM accounts_document WHERE public_id = ANY(%s)", acknowledged
        )
    }
    events = {
        row[0]
        for row in stack.sql(
            "SELECT target_id FROM accounts_auditevent WHERE action = 'document.created'"
            " AND target_id = ANY(%s)",
            acknowledged,
        )
    }
    missing, unaudited = set(acknowledged) - documents, set(acknowledged) - events
    result.note(
        f"{len(acknowledged)} acknowledged writes, {len(missing)} missing, {len(unaudited)} unaudited"
    )
    result.check(not missing, f"acknowledged but missing: {sorted(missing)[:5]}")
    result.check(not unaudited, f"no audit event for: {sorted(unaudited)[:5]}")


def unsealed(stack: Stack, org_slugs: list[str] | None = None) -> int:
    """Audit events committed but not chained yet (in these organizations, or anywhere)."""
    query = "SELECT count(*) FROM accounts_auditevent e WHERE e.hash = ''"
    if org_slugs is None:
        return int(stack.sql(query)[0][0])
    query += " AND e.organization_id IN (SELECT id FROM accounts_organization WHERE slug = ANY(%s))"
    return int(stack.sql(query, org_slugs)[0][0])


def wait_sealed(stack: Stack, org_slugs: list[str] | None = None, timeout: float = SEAL_TIMEOUT) -> float:
    """Seconds until nothing is left unsealed; raises after `timeout`."""
    started = time.monotonic()
    while (left := unsealed(stack, org_slugs)) > 0:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{left} audit events still unsealed after {timeout:.0f} s")
        time.sleep(0.25)
    return time.monotonic() - started


def audit_verify(stack: Stack, result: Result) -> None:
    """`manage.py audit_verify`, as an operator runs it after an incident: exit status 0."""
    verify = stack.manage("audit_verify")
    output = (verify.stdout + verify.stderr).strip()
    ok = result.check(verify.returncode == 0, f"audit_verify exited {verify.returncode}: {output[-400:]}")
    if ok:
        result.note("audit_verify passes")

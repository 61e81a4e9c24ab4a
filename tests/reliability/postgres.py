"""Scenario 4: PostgreSQL restarted, then stopped for a while, under REST and MCP write load.

Writers create documents without pause on both processes, by REST and by MCP `create_document` in
both protocol eras. First PostgreSQL is killed and restarted (`pg_ctl stop -m immediate`: a crash,
recovered from its WAL), then stopped cleanly for `OUTAGE` seconds and started. Meanwhile every
answer must be a success or a clean refusal (JSON 503 `temporarily_unavailable` with Retry-After, or
JSON-RPC -32603 inside an MCP call; no driver text, no database port); each process and channel must
succeed again within `RECOVERY_LIMIT` of the database accepting connections, by itself. Afterwards
every acknowledged write is there with its audit event, the chain is sealed, and audit_verify passes.
"""

from __future__ import annotations

import time

from tests.reliability import checks
from tests.reliability.report import Result
from tests.reliability.stack import Stack
from tests.reliability.traffic import Leaks, Load, Outcome, bad_samples, count, write_step

RECOVERY_LIMIT = 10.0  # seconds from the database accepting connections to the last refusal
SETTLE = 3.0  # load kept up after the first successes, to catch late failures


def recovery(outcomes: list[Outcome], up_at: float, keys: list[tuple[str, str]]) -> dict[str, float]:
    """Seconds from `up_at` to the first success sent after it, per (process, channel)."""
    seconds = {}
    for server, channel in keys:
        successes = [
            o.received - up_at
            for o in outcomes
            if o.server == server and o.channel == channel and o.kind == "ok" and o.sent >= up_at
        ]
        seconds[f"{server}/{channel}"] = min(successes, default=float("inf"))
    return seconds


def wait_recovered(load: Load, up_at: float, keys: list[tuple[str, str]]) -> float:
    """Wait (at most RECOVERY_LIMIT + a margin) until every process and channel succeeded again;
    returns the slowest's recovery time (inf if one never did)."""
    deadline = up_at + RECOVERY_LIMIT + 5
    while time.monotonic() < deadline:
        slowest = max(recovery(load.snapshot(), up_at, keys).values())
        if slowest != float("inf"):
            return slowest
        time.sleep(0.1)
    return float("inf")


def run(stack: Stack, result: Result, outage: float) -> None:
    leaks = Leaks(stack.cluster.port)
    writes = stack.seed["writes"]
    keys = {(server.name, channel): writes["key"] for server in stack.servers for channel in ("rest", "mcp")}
    pairs = [(server.name, channel) for server in stack.servers for channel in ("rest", "mcp")]
    faults: list[tuple[str, float, float, float]] = []  # (fault, went down, came up, recovery)
    with Load(write_step(stack.servers, keys, "inbox", leaks, "pg"), threads=6, pause=0.02) as load:
        time.sleep(2)
        for fault in ("restart", "stop"):
            down_at = time.monotonic()
            if fault == "restart":
                stack.cluster.stop("immediate")
            else:
                stack.cluster.stop("fast")
                time.sleep(max(0.0, outage - (time.monotonic() - down_at)))
            stack.cluster.start()  # returns once it accepts connections
            up_at = time.monotonic()
            faults.append((fault, down_at, up_at, wait_recovered(load, up_at, pairs)))
            time.sleep(SETTLE)
    outcomes = load.snapshot()

    for index, (fault, down_at, up_at, first_success) in enumerate(faults):
        # An answer belongs to the fault it was received during: a request sent just before the
        # next fault may fail because of it.
        until = faults[index + 1][1] if index + 1 < len(faults) else float("inf")
        window = [o for o in outcomes if down_at <= o.received < until]
        refused = count(window, kind="unavailable")
        # Recovered: every process and channel has succeeded again, and nothing failed after that.
        # A connection the fault broke may fail one request after others succeed (a pool thread
        # that had no request meanwhile): still a clean 503, counted into the recovery time.
        failures_after = [o.received - up_at for o in window if o.received >= up_at and o.kind != "ok"]
        recovered = max([first_success, *failures_after])
        result.note(
            f"{fault}: down {up_at - down_at:.1f} s, {refused} clean 503/-32603 of {len(window)} writes, "
            f"first success {first_success:.2f} s and last refusal {max(failures_after, default=0):.2f} s "
            "after it accepted connections"
        )
        result.check(recovered <= RECOVERY_LIMIT, f"{fault}: not recovered within {RECOVERY_LIMIT} s")
        result.check(refused > 0, f"{fault}: no request met the outage (it proves nothing)")
    bad = [o for o in outcomes if o.kind in ("bad", "refused")]
    result.note(
        f"{len(outcomes)} writes sent ({count(outcomes, channel='rest')} REST, "
        f"{count(outcomes, channel='mcp')} MCP), {len(bad)} unclean answers"
    )
    result.check(not bad, f"unclean answers: {bad_samples(bad) or [o.detail for o in bad[:3]]}")
    checks.acknowledged_writes(stack, outcomes, result)
    result.note(f"chain sealed {checks.wait_sealed(stack, [writes['org']]):.1f} s after the load")
    checks.audit_verify(stack, result)

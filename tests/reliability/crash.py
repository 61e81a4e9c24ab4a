"""Scenario 6: `kill -9` of process A under write load; B keeps serving; A restarted.

A's MCP writes go into an organization nothing else writes to (`crash_a`; B writes into `crash_b`),
so that no other write's sealing chains A's events by the way: what A committed and never sealed is
left to the sweep of mcpserver/sealer.py (any process, every 10 s, events older than 5 s). B must answer
every request with a success throughout; A's requests fail without an answer while it is dead (not
acknowledged, so not counted) and succeed again once restarted. Then every acknowledged write is
there with its audit event, both chains are sealed, and audit_verify passes.
"""

from __future__ import annotations

import time

from tests.reliability import checks
from tests.reliability.report import Result
from tests.reliability.stack import Stack
from tests.reliability.traffic import Leaks, Load, bad_samples, count, write_step

BEFORE, DEAD, AFTER = 3.0, 3.0, 3.0  # seconds of load before the kill, while A is dead, after restart
# A's background task seals its MCP writes' events every 0.1 s, so a kill finds at most one or two
# unsealed, often none. Sealing only every second (MCP_AUDIT_SEAL_INTERVAL) leaves the sweep several
# to find.
SLOW_SEAL = {"MCP_AUDIT_SEAL_INTERVAL": "1"}


def run(stack: Stack, result: Result) -> None:
    a, b = stack.a, stack.b
    seed = stack.seed
    # A's REST writes go elsewhere: a REST write seals its organization's chain in its own request,
    # and would seal A's MCP events with it.
    keys = {
        (a.name, "mcp"): seed["crash_a"]["key"],
        (a.name, "rest"): seed["writes"]["key"],
        (b.name, "mcp"): seed["crash_b"]["key"],
        (b.name, "rest"): seed["crash_b"]["key"],
    }
    orgs = [seed["crash_a"]["org"], seed["crash_b"]["org"]]
    step = write_step(stack.servers, keys, "inbox", Leaks(stack.cluster.port), "crash")
    usual = a.env
    a.stop()
    a.env = {**usual, **SLOW_SEAL}
    a.start()
    a.env = usual  # for the restart after the kill
    with Load(step, threads=6, pause=0.02) as load:
        time.sleep(BEFORE)
        killed_at = time.monotonic()
        a.kill()
        left = checks.unsealed(stack, orgs[:1])
        time.sleep(DEAD)
        restart = a.start()
        up_at = time.monotonic()
        time.sleep(AFTER)
    outcomes = load.snapshot()

    on_b = [o for o in outcomes if o.server == b.name]
    b_failed = [o for o in on_b if o.kind != "ok"]
    b_while_dead = count([o for o in on_b if killed_at <= o.sent <= up_at], kind="ok")
    a_before = [o for o in outcomes if o.server == a.name and o.received < killed_at]
    a_after = [o for o in outcomes if o.server == a.name and o.sent >= up_at]
    a_bad = [o for o in outcomes if o.server == a.name and o.kind == "bad"]
    result.note(
        f"B: {len(on_b)} writes, {len(b_failed)} failed ({b_while_dead} while A was dead); "
        f"A restarted in {restart:.1f} s, then {count(a_after, kind='ok')}/{len(a_after)} writes ok"
    )
    result.check(not b_failed, f"B failed: {bad_samples(b_failed) or [o.detail for o in b_failed[:3]]}")
    result.check(b_while_dead > 0, "B served nothing while A was dead")
    result.check(all(o.kind == "ok" for o in a_before), "A failed before it was killed")
    result.check(bool(a_after) and all(o.kind == "ok" for o in a_after), "A did not serve after its restart")
    result.check(not a_bad, f"A answered badly: {bad_samples(a_bad)}")
    checks.acknowledged_writes(stack, outcomes, result)
    checks.wait_sealed(stack, orgs)
    sealed_after = time.monotonic() - killed_at
    result.note(f"{left} events A left unsealed at its death, none {sealed_after:.0f} s after it")
    result.check(left > 0, "A left nothing unsealed: the sweep was not tested")
    checks.audit_verify(stack, result)

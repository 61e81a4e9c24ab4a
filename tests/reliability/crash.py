"""Scenario 6: `kill -9` of process A under write load; B keeps serving; A restarted.

Each process writes into an organization of its own (A: `crash_a`, B: `crash_b`), so that B's
sealing of its own chain cannot seal A's by the way: what A committed and never sealed is left to
the sweep of mcpserver/sealer.py (any process, every 10 s, events older than 5 s). B must answer
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


def run(stack: Stack, result: Result) -> None:
    a, b = stack.a, stack.b
    seed = stack.seed
    keys = {a.name: seed["crash_a"]["key"], b.name: seed["crash_b"]["key"]}
    orgs = [seed["crash_a"]["org"], seed["crash_b"]["org"]]
    step = write_step(stack.servers, keys, "inbox", Leaks(stack.cluster.port), "crash")
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
    result.note(f"{left} events A left unsealed, all sealed {sealed_after:.0f} s after the kill")
    checks.audit_verify(stack, result)

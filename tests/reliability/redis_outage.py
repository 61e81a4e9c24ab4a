"""Scenario 5: Redis stopped under load, then started again.

Redis only shares the rate-limit counts (README "Rate limits"): while it is down every request must
still answer, each process counting in its own memory; once it is back (retried every 5 s), the
counts are shared again by themselves. Background reads (REST and MCP, both processes, keys in turn,
each well under its limit) run throughout and must all succeed. Bursts with fresh keys show the
counting: with Redis down each process lets the limit through (2 x LIMIT of 2.5 x LIMIT); with Redis
back, exactly LIMIT pass across both.
"""

from __future__ import annotations

import time

from tests.reliability.ratelimits import LIMIT, burst
from tests.reliability.report import Result
from tests.reliability.stack import Stack
from tests.reliability.traffic import Leaks, Load, bad_samples, count, read_step

RETRY = 5.0  # how often a process tries Redis again (README)
OUTAGE = 8.0  # seconds Redis stays down: longer than one retry period
BURST = int(LIMIT * 2.5)
WARNING = "Redis is unreachable"
RECOVERED = "Redis answers again"


def run(stack: Stack, result: Result, burst_keys: list[str], load_keys: list[str]) -> None:
    leaks = Leaks(stack.cluster.port)
    step = read_step(stack.servers, load_keys, leaks)
    with Load(step, threads=3, pause=0.1) as load:
        time.sleep(2)
        stack.redis.stop()
        down_at = time.monotonic()
        time.sleep(1)  # both processes have met the refused connection and count in memory
        down = burst(stack.servers, burst_keys[0], "mcp", BURST)
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
        stack.redis.start()
        up_at = time.monotonic()
        time.sleep(RETRY + 1.5)  # the next retry finds it
        back = burst(stack.servers, burst_keys[1], "mcp", BURST)
        time.sleep(1)
    outcomes = load.snapshot()
    during = [o for o in outcomes if down_at <= o.sent <= up_at]
    failed = [o for o in outcomes if o.kind != "ok"]
    result.note(
        f"load: {len(outcomes)} requests, {len(failed)} failed ({len(during)} while Redis was down "
        f"for {up_at - down_at:.1f} s, {count(during, channel='rest')} of them REST)"
    )
    result.note(f"Redis down: {down.describe()}; back: {back.describe()}")
    result.check(not failed, f"load answers that were not 200: {bad_samples(failed) or len(failed)}")
    result.check(bool(during), "no load request was sent while Redis was down")
    for label, got in (("down", down), ("back", back)):
        result.check(not got.other, f"Redis {label}: answers neither 200 nor 429: {got.other[:3]}")
    result.check(
        down.passed == {server.name: LIMIT for server in stack.servers},
        f"Redis down: expected {LIMIT} per process, got {down.passed}",
    )
    result.check(back.total_passed == LIMIT, f"Redis back: {back.total_passed} passed, the limit is {LIMIT}")
    # The limiter's own account (accounts/core/ratelimit.py): one warning per process for the whole
    # outage (at most one per 30 s), and word that Redis answers again.
    for server in stack.servers:
        log = server.log.read_text(errors="replace")
        warned, back_again = log.count(WARNING), log.count(RECOVERED)
        result.note(f"{server.name} logged {warned} warning(s), {back_again} recovery line(s)")
        result.check(1 <= warned <= 2, f"{server.name}: {warned} 'Redis is unreachable' warnings")
        result.check(back_again >= 1, f"{server.name}: never logged that Redis answers again")

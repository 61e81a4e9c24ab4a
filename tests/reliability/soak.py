"""Scenario 7: a soak, many MCP calls across both processes, with their memory sampled.

Read tools (`whoami` every other call, `list_projects`, `get_document`, `search_documents`) in both
eras, with an `sk-` key and a `wat_` token in turn, alternately on A and B, from a few threads
without pause.
Every call must succeed. Each process's RSS is sampled as the calls go; after a warm-up (caches,
pools, the allocator's arenas filling), the growth per call is the least-squares slope of RSS over
the calls that process served. A leak of a few hundred bytes per call would show as megabytes here.
"""

from __future__ import annotations

import time

from tests.reliability import checks
from tests.reliability.report import Result
from tests.reliability.stack import Server, Stack
from tests.reliability.traffic import Leaks, Load, bad_samples, read_step, read_tools

WARM_UP = 0.25  # the share of calls before memory is judged
GROWTH_LIMIT = 512  # bytes per call a process may grow by after warm-up
SAMPLE_EVERY = 0.5  # seconds
THREADS = 6


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


def run(stack: Stack, result: Result, calls: int, limit_seconds: float, *, judge_memory: bool = True) -> None:
    """`judge_memory`: fail on growth (a short soak's slope is mostly the warm-up's; it is reported)."""
    seed = stack.seed
    tokens = [seed["demo_keys"][-1], seed["oauth"]["tokens"][1]]
    # Half of the calls `whoami` (the cheapest), so that 20,000 calls fit in minutes on two busy cores.
    tools = read_tools(seed["document"])
    tools = [tool for pair in zip([tools[0]] * 3, tools[1:], strict=True) for tool in pair]
    step = read_step(stack.servers, tokens, Leaks(stack.cluster.port), tools=tools, rest=False)
    samples: dict[str, list[tuple[float, float]]] = {server.name: [] for server in stack.servers}
    started = time.monotonic()
    with Load(step, threads=THREADS) as load:
        while (done := len(load.snapshot())) < calls and time.monotonic() - started < limit_seconds:
            for server in stack.servers:
                # Each process serves every other call.
                samples[server.name].append((done / 2, float(server.rss())))
            time.sleep(SAMPLE_EVERY)
    elapsed = time.monotonic() - started
    outcomes = load.snapshot()
    failed = [o for o in outcomes if o.kind != "ok"]
    result.note(
        f"{len(outcomes)} MCP calls in {elapsed:.0f} s ({len(outcomes) / elapsed:.0f}/s), "
        f"{len(failed)} errors"
    )
    result.check(len(outcomes) >= calls, f"only {len(outcomes)} calls within {limit_seconds:.0f} s")
    result.check(not failed, f"failed calls: {bad_samples(failed) or [o.detail for o in failed[:3]]}")
    for server in stack.servers:
        growth(server, samples[server.name], result, judge=judge_memory)
    if not judge_memory:
        result.note("growth not judged (a short soak)")
    checks.wait_sealed(stack)
    checks.audit_verify(stack, result)


def growth(server: Server, points: list[tuple[float, float]], result: Result, *, judge: bool) -> None:
    if len(points) < 4:
        result.check(False, f"{server.name}: too few RSS samples ({len(points)})")
        return
    served = points[-1][0]
    after = [(x, y) for x, y in points if x >= served * WARM_UP]
    per_call = slope(after)
    mib = 1024 * 1024
    result.note(
        f"{server.name}: RSS {points[0][1] / mib:.0f} → {after[0][1] / mib:.0f} (warm) → "
        f"{points[-1][1] / mib:.0f} MiB, {per_call:+.0f} B/call after warm-up"
    )
    result.check(
        per_call <= GROWTH_LIMIT, f"{server.name} grows {per_call:.0f} B/call (limit {GROWTH_LIMIT})"
    )

"""Run the reliability suite and print its table: `python -m tests.reliability [--quick]`.

Exit status 0 only if every scenario passed. The whole run is bounded (`--budget`, SIGALRM); on the
way out, whatever happened, the Gatehouse processes, Redis and the PostgreSQL cluster are stopped by
their PIDs. A failed run keeps its working directory (the processes' logs) and says where.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from tests.reliability import crash, mcp_clients, postgres, ratelimits, redis_outage, revocation, soak
from tests.reliability.report import Result, run_scenario, table
from tests.reliability.stack import running_stack

Scenario = Callable[[Result], None]
# Seconds: the soak fails if it cannot make its calls by then. 20,000 took 260-330 s on 2 cores
# that other test runs kept busy (load average 4-10), before half of them became `whoami`.
SOAK_LIMIT = 420.0


class Interrupted(BaseException):
    """The budget ran out, or SIGTERM: not an Exception, so no scenario catches it as its own failure."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: shorter outage, smaller soak")
    parser.add_argument("--budget", type=int, default=900, help="seconds before the run is stopped")
    parser.add_argument(
        "--keep", action="store_true", help="keep the working directory (logs) even on success"
    )
    parser.add_argument("--outage", type=float, help="seconds PostgreSQL stays stopped (10; --quick 3)")
    parser.add_argument("--soak-calls", type=int, help="MCP calls of the soak (20,000; --quick 2,000)")
    args = parser.parse_args(argv)
    outage = args.outage or (3.0 if args.quick else 10.0)
    soak_calls = args.soak_calls or (2_000 if args.quick else 20_000)

    signal.signal(signal.SIGALRM, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.alarm(args.budget)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="gatehouse-reliability-"))
    results: list[Result] = []
    interrupted = ""
    try:
        with running_stack(workdir) as stack:
            print(
                f"PostgreSQL :{stack.cluster.port}, Redis :{stack.redis.port}, ready in "
                f"{time.monotonic() - started:.0f} s",
                flush=True,
            )
            keys = list(stack.seed["demo_keys"])
            rate_keys, client_keys, burst_keys, load_keys = keys[:2], keys[2:4], keys[4:6], keys[6:-1]
            # Generation 1: small per-key limits to count, and DEBUG=1 for the dashboard over plain
            # HTTP (secure cookies and hashed static files need a TLS proxy and collectstatic).
            limit = f"{ratelimits.LIMIT}/h"
            stack.start_servers(DEBUG="1", API_RATE_LIMIT=limit, MCP_RATE_LIMIT_PER_CREDENTIAL=limit)
            first: list[tuple[str, Scenario]] = [
                ("1. revocation across processes", lambda r: revocation.run(stack, r)),
                ("2. shared exact rate limits", lambda r: ratelimits.run(stack, r, rate_keys)),
                ("3. MCP SDK client, both eras, A/B", lambda r: mcp_clients.run(stack, r, client_keys)),
                (
                    "5. Redis stopped under load",
                    lambda r: redis_outage.run(stack, r, burst_keys, load_keys),
                ),
            ]
            for name, scenario in first:
                run_scenario(results, name, scenario)
            # Generation 2: production settings (DEBUG=0: no query log growing in memory) and no
            # effective limits, for write load and the soak.
            stack.start_servers(DEBUG="0")
            second: list[tuple[str, Scenario]] = [
                (
                    f"4. PostgreSQL restarted, stopped {outage:.0f} s, under writes",
                    lambda r: postgres.run(stack, r, outage),
                ),
                ("6. kill -9 of one process under writes", lambda r: crash.run(stack, r)),
                (
                    f"7. soak, {soak_calls:,} MCP calls",
                    lambda r: soak.run(stack, r, soak_calls, SOAK_LIMIT, judge_memory=soak_calls >= 10_000),
                ),
            ]
            for name, scenario in second:
                run_scenario(results, name, scenario)
    except Interrupted as reason:
        interrupted = f"stopped by {reason} after {time.monotonic() - started:.0f} s"
    finally:
        signal.alarm(0)
    runtime = time.monotonic() - started
    passed = bool(results) and all(result.passed for result in results) and not interrupted
    print()
    print(table(results))
    print()
    print(
        f"{'PASS' if passed else 'FAIL'}: {sum(r.passed for r in results)}/{len(results)} scenarios, "
        f"{runtime:.0f} s{'; ' + interrupted if interrupted else ''}"
    )
    if passed and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs kept in {workdir}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

"""Scenario 2: one limit, counted exactly across both processes (and, in scenario 5, without Redis).

The processes run with a small per-key limit (`LIMIT`/h, REST and MCP alike: README "Rate limits").
A fresh key fires `BURST` concurrent requests, alternately at A and B: with the counts in Redis,
exactly `LIMIT` pass and the others get 429 with Retry-After, whichever process they reached.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from tests.reliability.report import Result
from tests.reliability.stack import Server, Stack
from tests.reliability.traffic import ERAS, TIMEOUT, mcp_post

LIMIT = 100
BURST = 150
CONCURRENCY = 50


@dataclass
class Burst:
    passed: dict[str, int]  # per process
    limited: int  # 429 with Retry-After
    other: list[str]  # anything else

    @property
    def total_passed(self) -> int:
        return sum(self.passed.values())

    def describe(self) -> str:
        split = "+".join(str(self.passed[name]) for name in sorted(self.passed))
        return (
            f"{self.total_passed}/{self.total_passed + self.limited + len(self.other)} passed (A+B {split})"
        )


def burst(servers: list[Server], token: str, channel: str, size: int = BURST) -> Burst:
    """`size` concurrent requests with one key, alternately at each process."""

    def one(http: httpx.Client, n: int) -> tuple[str, httpx.Response | str]:
        server = servers[n % 2]
        try:
            if channel == "rest":
                headers = {"Authorization": f"Bearer {token}"}
                return server.name, http.get(f"{server.url}/api/v1/whoami/", headers=headers)
            return server.name, mcp_post(http, server, token, "whoami", {}, ERAS[n // 2 % 2])
        except httpx.HTTPError as error:
            return server.name, f"{type(error).__name__}: {error}"

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    with httpx.Client(timeout=TIMEOUT, limits=limits) as http, ThreadPoolExecutor(CONCURRENCY) as pool:
        answers = list(pool.map(lambda n: one(http, n), range(size)))
    outcome = Burst(passed={server.name: 0 for server in servers}, limited=0, other=[])
    for name, answer in answers:
        if isinstance(answer, str):
            outcome.other.append(f"{name}: {answer}")
        elif answer.status_code == 200 and "error" not in answer.json():
            outcome.passed[name] += 1
        elif answer.status_code == 429 and answer.headers.get("retry-after", "").isdigit():
            outcome.limited += 1
        else:
            outcome.other.append(f"{name}: HTTP {answer.status_code} {answer.text[:200]}")
    return outcome


def run(stack: Stack, result: Result, keys: list[str]) -> None:
    for channel, token in zip(("rest", "mcp"), keys, strict=True):
        got = burst(stack.servers, token, channel)
        result.note(f"{channel.upper()}: {got.describe()}")
        result.check(not got.other, f"{channel}: answers neither 200 nor 429: {got.other[:3]}")
        result.check(got.total_passed == LIMIT, f"{channel}: {got.total_passed} passed, the limit is {LIMIT}")
        result.check(all(got.passed.values()), f"{channel}: a process let nothing through: {got.passed}")
    result.note(f"limit {LIMIT}/h per key, {BURST} requests, {CONCURRENCY} at a time")

"""One row per scenario, and the table printed at the end (Markdown, to paste into docs/operations.md)."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    """A scenario's verdict: it passes only if no check failed."""

    scenario: str
    numbers: list[str] = field(default_factory=list)  # the key numbers, in the order measured
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures

    def note(self, text: str) -> None:
        self.numbers.append(text)

    def check(self, condition: bool, failure: str) -> bool:
        """Record `failure` unless `condition` holds; returns the condition."""
        if not condition:
            self.failures.append(failure)
        return condition


def run_scenario(results: list[Result], name: str, body: Callable[[Result], None]) -> None:
    """Run one scenario and add its row to `results`. An exception fails it (its traceback printed)
    and the run goes on; an interruption (the run's budget, SIGTERM) fails it and ends the run."""
    result = Result(name)
    results.append(result)
    started = time.monotonic()
    print(f"-- {name}", flush=True)
    try:
        body(result)
    except Exception as error:
        traceback.print_exc()
        result.failures.append(f"{type(error).__name__}: {str(error)[:300]}")
    except BaseException as error:
        result.failures.append(f"interrupted ({type(error).__name__} {error})")
        raise
    finally:
        result.seconds = time.monotonic() - started
    verdict = "PASS" if result.passed else "FAIL"
    print(f"   {verdict} in {result.seconds:.0f} s: {'; '.join(result.numbers)}", flush=True)
    for failure in result.failures:
        print(f"   FAILED: {failure}", flush=True)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(results: list[Result]) -> str:
    lines = ["| Scenario | Result | Key numbers |", "|---|---|---|"]
    for result in results:
        verdict = "PASS" if result.passed else "**FAIL**"
        numbers = "; ".join(result.numbers + [f"FAILED: {f}" for f in result.failures])
        lines.append(f"| {_cell(result.scenario)} | {verdict} | {_cell(numbers)} ({result.seconds:.0f} s) |")
    return "\n".join(lines)

"""The reliability suite of issue 11: `make reliability` (`python -m tests.reliability`), not pytest.

It starts its own PostgreSQL cluster and Redis on free loopback ports and two Gatehouse processes on
them, and proves what docs/operations.md promises about several processes and faults: revocation on
the next request everywhere, exact shared rate limits, an MCP client served by either process, clean
503s and no lost write through a PostgreSQL restart and outage, Redis optional, a killed process's
audit events sealed by the other, and flat memory over a soak. It prints one table (report.py).

No module here is named test_*.py: pytest (python_files in pyproject.toml) never collects them.
stack.py starts and stops everything, traffic.py sends requests and judges answers, checks.py reads
the database afterwards; one module per scenario.
"""
